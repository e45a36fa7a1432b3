# crimewatch on Google Cloud: the lake in a versioned bucket, the warehouse published to BigQuery, a Cloud Run job
# running `crimewatch run` on the original design's monthly schedule, and optionally a Cloud Run service serving the
# dashboard. Walk-through, costs and tear-down: docs/deploy-gcp.md.

resource "google_project_service" "apis" {
  for_each = local.apis

  project = var.project_id
  service = each.value
  # Turning an API off on destroy would break anything else in the project that uses it.
  disable_on_destroy = false
}
