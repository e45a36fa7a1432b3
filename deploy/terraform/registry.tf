# Where the crimewatch image is pushed (docs/deploy-gcp.md, "Build and push the image"). Immutable tags: a tag
# names one build forever, so the job's image (var.image_tag) cannot change under it without a `terraform apply`.
resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:The image holds the public crimewatch binary only, no data or secrets; Google-managed encryption at rest applies.
  project       = var.project_id
  location      = var.region
  repository_id = var.repository_id
  format        = "DOCKER"
  description   = "crimewatch container images"

  docker_config {
    immutable_tags = true
  }

  depends_on = [google_project_service.apis]
}
