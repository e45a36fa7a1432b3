# Run by scripts/check-deploy on ../variables.tf + ../locals.tf (no provider needed). See README.md.

variables {
  project_id = "my-project-1"
}

run "defaults_deploy_the_foundation_only" {
  command = plan

  assert {
    condition     = local.bucket_name == "my-project-1-crimewatch-lake" && local.lake_url == "gs://my-project-1-crimewatch-lake/lake"
    error_message = "default lake: ${local.lake_url}"
  }
  assert {
    condition     = local.image == null && !local.deploy_job && !local.deploy_service
    error_message = "without image_tag nothing that runs the image may be created"
  }
  assert {
    condition     = local.datasets.staging.id == "crimewatch_staging" && local.datasets.marts.id == "crimewatch_marts"
    error_message = "the datasets must carry crimewatch's default names (issue 13)"
  }
  assert {
    condition = local.crimewatch_env == {
      CRIMEWATCH_LAKE              = "gs://my-project-1-crimewatch-lake/lake"
      CRIMEWATCH_BIGQUERY_PROJECT  = "my-project-1"
      CRIMEWATCH_BIGQUERY_LOCATION = "US"
      RUST_LOG                     = "crimewatch=info"
    }
    error_message = "container environment: ${jsonencode(local.crimewatch_env)}"
  }
  assert {
    condition     = var.schedule == "0 15 1 * *" && var.time_zone == "Etc/UTC"
    error_message = "the default schedule must be the original design's, in UTC"
  }
  assert {
    condition     = var.job_cpu == "2" && var.job_memory == "4Gi"
    error_message = "the job must default to 2 CPU / 4 GiB"
  }
}

run "a_tag_deploys_the_job" {
  command = plan
  variables {
    image_tag   = "v1"
    region      = "europe-west1"
    location    = "EU"
    bucket_name = "my-lake"
    lake_prefix = "crime/lake"
  }

  assert {
    condition     = local.image == "europe-west1-docker.pkg.dev/my-project-1/crimewatch/crimewatch:v1"
    error_message = "image: ${coalesce(local.image, "null")}"
  }
  assert {
    condition     = local.deploy_job && !local.deploy_service
    error_message = "a tag alone deploys the job and its trigger, not the dashboard"
  }
  assert {
    condition     = local.lake_url == "gs://my-lake/crime/lake" && local.crimewatch_env["CRIMEWATCH_BIGQUERY_LOCATION"] == "EU"
    error_message = "lake ${local.lake_url}, location ${local.crimewatch_env["CRIMEWATCH_BIGQUERY_LOCATION"]}"
  }
}

run "a_digest_is_referenced_with_at" {
  command = plan
  variables {
    image_tag = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = local.image == "us-central1-docker.pkg.dev/my-project-1/crimewatch/crimewatch@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    error_message = "image: ${coalesce(local.image, "null")}"
  }
}

run "the_dashboard_needs_an_image_too" {
  command = plan
  variables {
    serve_dashboard = true
  }

  assert {
    condition     = !local.deploy_service && !local.deploy_job
    error_message = "no service may be created before an image exists"
  }
}

run "dashboard_with_image_and_another_source" {
  command = plan
  variables {
    serve_dashboard = true
    image_tag       = "v2"
    socrata_url     = "https://data.example.org"
  }

  assert {
    condition     = local.deploy_service && local.deploy_job
    error_message = "serve_dashboard with an image deploys the service (and keeps the job for manual runs)"
  }
  assert {
    condition     = local.crimewatch_env["CRIMEWATCH_SOCRATA_URL"] == "https://data.example.org"
    error_message = "socrata_url must reach the containers as CRIMEWATCH_SOCRATA_URL"
  }
}

run "rejects_a_project_name" {
  command = plan
  variables {
    project_id = "My Project"
  }
  expect_failures = [var.project_id]
}

run "rejects_a_zone_as_region" {
  command = plan
  variables {
    region = "us-central1-a"
  }
  expect_failures = [var.region]
}

run "rejects_an_unknown_location" {
  command = plan
  variables {
    location = "asia"
  }
  expect_failures = [var.location]
}

run "rejects_a_short_name" {
  command = plan
  variables {
    name = "cw"
  }
  expect_failures = [var.name]
}

run "rejects_a_dotted_bucket_name" {
  command = plan
  variables {
    bucket_name = "crime.watch.lake"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_a_lake_prefix_with_slashes_at_the_ends" {
  command = plan
  variables {
    lake_prefix = "/lake/"
  }
  expect_failures = [var.lake_prefix]
}

run "rejects_a_tag_with_a_space" {
  command = plan
  variables {
    image_tag = "v1 beta"
  }
  expect_failures = [var.image_tag]
}

run "rejects_a_four_field_schedule" {
  command = plan
  variables {
    schedule = "0 15 1 *"
  }
  expect_failures = [var.schedule]
}

run "rejects_a_time_zone_with_spaces" {
  command = plan
  variables {
    time_zone = "Pacific Time"
  }
  expect_failures = [var.time_zone]
}

run "rejects_three_cpus" {
  command = plan
  variables {
    job_cpu = "3"
  }
  expect_failures = [var.job_cpu]
}

run "rejects_memory_in_gb" {
  command = plan
  variables {
    job_memory = "4GB"
  }
  expect_failures = [var.job_memory]
}

run "rejects_a_timeout_too_short_for_a_backfill" {
  command = plan
  variables {
    job_timeout_seconds = 60
  }
  expect_failures = [var.job_timeout_seconds]
}

run "rejects_a_timeout_beyond_cloud_runs_limit" {
  command = plan
  variables {
    job_timeout_seconds = 90000
  }
  expect_failures = [var.job_timeout_seconds]
}

run "rejects_eleven_retries" {
  command = plan
  variables {
    job_max_retries = 11
  }
  expect_failures = [var.job_max_retries]
}

run "rejects_service_memory_without_unit" {
  command = plan
  variables {
    service_memory = "2048"
  }
  expect_failures = [var.service_memory]
}

run "rejects_a_non_http_source" {
  command = plan
  variables {
    socrata_url = "ftp://data.seattle.gov"
  }
  expect_failures = [var.socrata_url]
}

run "rejects_an_uppercase_label" {
  command = plan
  variables {
    labels = { Team = "data" }
  }
  expect_failures = [var.labels]
}
