output "lake_bucket" {
  description = "The lake bucket (versioned; kept by `terraform destroy`)."
  value       = google_storage_bucket.lake.name
}

output "lake_url" {
  description = "crimewatch's --lake / CRIMEWATCH_LAKE."
  value       = local.lake_url
}

output "staging_dataset" {
  description = "BigQuery dataset with the lake's rows (spd_crime)."
  value       = "${var.project_id}.${google_bigquery_dataset.crimewatch["staging"].dataset_id}"
}

output "marts_dataset" {
  description = "BigQuery dataset with the tested marts, for Looker Studio and other BI tools."
  value       = "${var.project_id}.${google_bigquery_dataset.crimewatch["marts"].dataset_id}"
}

output "image_repository" {
  description = "Push the image here: docker push <image_repository>/crimewatch:<tag>."
  value       = local.image_repository
}

output "runner_service_account" {
  description = "The identity the job and the dashboard run as."
  value       = google_service_account.runner.email
}

output "job_name" {
  description = "The Cloud Run job running `crimewatch run` (null until image_tag is set)."
  value       = one(google_cloud_run_v2_job.run[*].name)
}

output "run_now" {
  description = "The command that starts one run now and waits for it."
  value       = local.deploy_job ? "gcloud run jobs execute ${var.name} --project ${var.project_id} --region ${var.region} --wait" : null
}

output "scheduler_job" {
  description = "The Cloud Scheduler trigger (null when the dashboard service keeps the schedule, or before image_tag is set)."
  value       = one(google_cloud_scheduler_job.monthly[*].id)
}

output "dashboard_url" {
  description = "The dashboard's URL when serve_dashboard is on (null otherwise)."
  value       = one(google_cloud_run_v2_service.dashboard[*].uri)
}
