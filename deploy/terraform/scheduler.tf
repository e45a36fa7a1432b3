# The original design's schedule: 15:00 UTC on the 1st of every month. Cloud Scheduler calls the Cloud Run Admin
# API's jobs.run for the job, as the scheduler service account (which may invoke that job and nothing else). With
# serve_dashboard the service keeps this same schedule itself and this trigger is not created.
resource "google_cloud_scheduler_job" "monthly" {
  count = length(google_service_account.scheduler)

  name        = "${var.name}-monthly"
  project     = var.project_id
  region      = var.region
  description = "Starts the crimewatch Cloud Run job (crimewatch run)."
  schedule    = var.schedule
  time_zone   = var.time_zone
  # The call only starts an execution; the run itself is bounded by the job's timeout, not by this deadline.
  attempt_deadline = "180s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "60s"
    max_backoff_duration = "600s"
  }

  http_target {
    http_method = "POST"
    # Cloud Run Admin API v2, jobs.run; an empty RunJobRequest runs the job as it is defined.
    uri     = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.run[0].name}:run"
    body    = base64encode("{}")
    headers = { "Content-Type" = "application/json" }

    oauth_token {
      service_account_email = google_service_account.scheduler[0].email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.scheduler_runs_job]
}
