# Names and settings derived from the variables. No resources here: tests/offline evaluates this file and
# variables.tf with Terraform itself, without the google provider (see scripts/check-deploy).

locals {
  bucket_name = coalesce(var.bucket_name, "${var.project_id}-crimewatch-lake")
  lake_url    = "gs://${local.bucket_name}/${var.lake_prefix}"

  # crimewatch's own defaults for `[bigquery] staging_dataset` / `marts_dataset` (issue 13). They are not
  # variables: the binary has no environment variable for them, so a different name here would publish nowhere.
  datasets = {
    staging = {
      id          = "crimewatch_staging"
      description = "crimewatch: the lake's rows with report_month (spd_crime), replaced by each crimewatch run."
    }
    marts = {
      id          = "crimewatch_marts"
      description = "crimewatch: the tested marts (fct_offenses, mart_*, dim_*, meta_build), replaced by each crimewatch run."
    }
  }

  image_repository = "${var.region}-docker.pkg.dev/${var.project_id}/${var.repository_id}"
  # A tag (`v1`) or a digest (`sha256:...`); null until the first image is pushed (see docs/deploy-gcp.md).
  image = var.image_tag == null ? null : (
    startswith(var.image_tag, "sha256:")
    ? "${local.image_repository}/crimewatch@${var.image_tag}"
    : "${local.image_repository}/crimewatch:${var.image_tag}"
  )
  deploy_job     = local.image != null
  deploy_service = local.image != null && var.serve_dashboard

  # What every crimewatch container gets: the lake in the bucket (issue 12), the BigQuery project it publishes to
  # (issue 13), and the location the datasets were made in.
  crimewatch_env = merge(
    {
      CRIMEWATCH_LAKE              = local.lake_url
      CRIMEWATCH_BIGQUERY_PROJECT  = var.project_id
      CRIMEWATCH_BIGQUERY_LOCATION = var.location
      RUST_LOG                     = var.log_filter
    },
    var.socrata_url == null ? {} : { CRIMEWATCH_SOCRATA_URL = var.socrata_url },
  )

  apis = toset([
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "iam.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ])
}
