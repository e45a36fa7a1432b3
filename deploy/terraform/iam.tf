# Two identities, each with only what it needs.
#
# The runner (the job, and the dashboard service when there is one) reads and writes the lake's objects, replaces
# tables in the two datasets, and runs BigQuery load jobs. It gets no project-wide storage or BigQuery data role,
# cannot create buckets or datasets, and cannot touch IAM.
resource "google_service_account" "runner" {
  project      = var.project_id
  account_id   = "${var.name}-runner"
  display_name = "crimewatch runner (Cloud Run job and service)"
  description  = "Runs crimewatch: objects in the lake bucket, tables in the crimewatch datasets, BigQuery jobs."

  depends_on = [google_project_service.apis]
}

# Objects only (create, read, list, replace, delete — the manifest is replaced and unreferenced files are
# collected by crimewatch itself); not the bucket's settings, so not its versioning or lifecycle.
resource "google_storage_bucket_iam_member" "runner_lake" {
  bucket = google_storage_bucket.lake.name
  role   = "roles/storage.objectUser"
  member = google_service_account.runner.member
}

resource "google_bigquery_dataset_iam_member" "runner" {
  for_each = google_bigquery_dataset.crimewatch

  project    = var.project_id
  dataset_id = each.value.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.runner.member
}

# Load and copy jobs are created in the project (BigQuery has no narrower place to grant job creation); what they
# may write is still limited by the dataset roles above.
resource "google_project_iam_member" "runner_bigquery_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.runner.member
}

# The scheduler's identity may start that one job and nothing else: roles/run.invoker on the job itself, not on
# the project. Cloud Scheduler mints its OAuth token (docs: "Execute jobs on a schedule").
resource "google_service_account" "scheduler" {
  count = local.deploy_job && !var.serve_dashboard ? 1 : 0

  project      = var.project_id
  account_id   = "${var.name}-scheduler"
  display_name = "crimewatch scheduler (may only run the crimewatch job)"
  description  = "Used by Cloud Scheduler to start the crimewatch Cloud Run job on its schedule."

  depends_on = [google_project_service.apis]
}

resource "google_cloud_run_v2_job_iam_member" "scheduler_runs_job" {
  count = length(google_service_account.scheduler)

  project  = var.project_id
  location = google_cloud_run_v2_job.run[0].location
  name     = google_cloud_run_v2_job.run[0].name
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler[0].member
}
