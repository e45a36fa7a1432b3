# The monthly pipeline run: `crimewatch run` (ingest the source into the lake, build and test the warehouse,
# publish it to BigQuery). The container's data dir (/data) is Cloud Run's in-memory file system, fresh each time:
# the lake lives in the bucket (CRIMEWATCH_LAKE), so each run reads the lake's current manifest and builds the
# warehouse anew from it; the published copy that outlives the run is BigQuery's.
resource "google_cloud_run_v2_job" "run" {
  count = local.deploy_job ? 1 : 0

  name     = var.name
  location = var.region
  project  = var.project_id
  # The job holds no data (the lake is in the bucket), so `terraform destroy` may remove it.
  deletion_protection = false

  template {
    # One task, never two at once: a run is one process holding the whole month range.
    task_count  = 1
    parallelism = 1

    template {
      service_account       = google_service_account.runner.email
      timeout               = "${var.job_timeout_seconds}s"
      max_retries           = var.job_max_retries
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"

      containers {
        image = local.image
        args  = ["run"]

        dynamic "env" {
          for_each = local.crimewatch_env
          content {
            name  = env.key
            value = env.value
          }
        }

        resources {
          limits = {
            cpu    = var.job_cpu
            memory = var.job_memory
          }
        }
      }
    }
  }

  depends_on = [
    google_storage_bucket_iam_member.runner_lake,
    google_bigquery_dataset_iam_member.runner,
    google_project_iam_member.runner_bigquery_jobs,
  ]
}

# Optional: the dashboard. `crimewatch up` runs the pipeline once when its data dir has nothing published (a new
# instance: its file system is in memory), then serves and keeps the schedule in the same process. So with
# serve_dashboard the service is the scheduler (no Cloud Scheduler trigger: one schedule, not two), and the job
# stays for manual runs. One instance, always on, with its CPU always allocated: the in-process schedule only
# fires while the instance has CPU, and a second instance would rebuild the warehouse a second time.
resource "google_cloud_run_v2_service" "dashboard" {
  count = local.deploy_service ? 1 : 0

  name     = "${var.name}-dashboard"
  location = var.region
  project  = var.project_id
  ingress  = "INGRESS_TRAFFIC_ALL"
  # Stateless (the lake is in the bucket, the warehouse is rebuilt on start), so it may be destroyed.
  deletion_protection = false

  template {
    service_account                  = google_service_account.runner.email
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    max_instance_request_concurrency = 80

    scaling {
      min_instance_count = 1
      max_instance_count = 1
    }

    containers {
      image = local.image
      args  = ["up", "--addr", "0.0.0.0:8080", "--schedule", var.schedule, "--timezone", var.time_zone]

      ports {
        container_port = 8080
      }

      dynamic "env" {
        for_each = local.crimewatch_env
        content {
          name  = env.key
          value = env.value
        }
      }

      resources {
        limits = {
          cpu    = var.service_cpu
          memory = var.service_memory
        }
        cpu_idle          = false
        startup_cpu_boost = true
      }

      # `up` binds its port only after the first run has built the warehouse (nothing is published on a new
      # instance). With the lake already in the bucket that run fetches only what changed and builds in about a
      # minute; Cloud Run allows a startup probe at most 240 s of initial delay plus 240 s of failures.
      startup_probe {
        initial_delay_seconds = 240
        period_seconds        = 10
        timeout_seconds       = 5
        failure_threshold     = 24
        tcp_socket {
          port = 8080
        }
      }
    }
  }

  depends_on = [
    google_storage_bucket_iam_member.runner_lake,
    google_bigquery_dataset_iam_member.runner,
    google_project_iam_member.runner_bigquery_jobs,
  ]
}

# Who may open the dashboard: everyone (the data is public) only when asked for; otherwise IAM-authenticated
# callers with roles/run.invoker, e.g. through `gcloud run services proxy`.
resource "google_cloud_run_v2_service_iam_member" "dashboard_public" {
  count = local.deploy_service && var.dashboard_public ? 1 : 0

  project  = var.project_id
  location = google_cloud_run_v2_service.dashboard[0].location
  name     = google_cloud_run_v2_service.dashboard[0].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
