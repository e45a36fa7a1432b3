variable "project_id" {
  description = "The Google Cloud project to deploy into (it must exist and have billing enabled)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 characters: lowercase letters, digits, hyphens; starts with a letter), not a project name or number."
  }
}

variable "region" {
  description = "Region of the Cloud Run job and service, the Cloud Scheduler trigger and the Artifact Registry repository, e.g. us-central1."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west1 (not a zone like us-central1-a, nor a multi-region like US)."
  }
}

variable "location" {
  description = "Location of the lake bucket and the BigQuery datasets: a multi-region (US, EU) or a region. They must match, so BigQuery loads from the lake's gs:// objects. crimewatch's own default BigQuery location is US."
  type        = string
  default     = "US"

  validation {
    condition     = contains(["US", "EU"], var.location) || can(regex("^[a-z]+-[a-z]+[0-9]+$", var.location))
    error_message = "location must be US, EU or a region such as us-central1 (BigQuery and Cloud Storage both accept these)."
  }
}

variable "name" {
  description = "Name of the job and prefix of the other resources' names (service accounts, scheduler trigger, dashboard service)."
  type        = string
  default     = "crimewatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,18}[a-z0-9]$", var.name))
    error_message = "name must be 4-20 characters: lowercase letters, digits and hyphens, starting with a letter (service account IDs add '-scheduler' and must stay within 30)."
  }
}

variable "bucket_name" {
  description = "Name of the lake bucket (globally unique). Default: <project_id>-crimewatch-lake."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", coalesce(var.bucket_name, "ok")))
    error_message = "bucket_name must be 3-63 characters of lowercase letters, digits, '-' and '_', starting and ending with a letter or digit (no dots: dotted names need domain verification)."
  }
}

variable "lake_prefix" {
  description = "Folder in the bucket that holds the lake (crimewatch's --lake is gs://<bucket>/<lake_prefix>)."
  type        = string
  default     = "lake"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$", var.lake_prefix))
    error_message = "lake_prefix must be one or more path segments of letters, digits, '-' and '_', separated by '/', without leading or trailing '/'."
  }
}

variable "repository_id" {
  description = "Artifact Registry repository that holds the crimewatch image."
  type        = string
  default     = "crimewatch"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.repository_id))
    error_message = "repository_id must be lowercase letters, digits and hyphens, starting with a letter, at most 63 characters."
  }
}

variable "image_tag" {
  description = "Tag (e.g. v1) or digest (sha256:...) of the crimewatch image pushed to the repository. Leave null on the first apply (which creates the repository); the job, the trigger and the dashboard are created once it is set."
  type        = string
  default     = null

  validation {
    condition     = var.image_tag == null || can(regex("^(sha256:[a-f0-9]{64}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", coalesce(var.image_tag, "ok")))
    error_message = "image_tag must be a Docker tag (letters, digits, '_', '.', '-', at most 128) or a digest 'sha256:<64 hex digits>'."
  }
}

variable "schedule" {
  description = "When the pipeline runs: a 5-field cron expression (minute hour day-of-month month day-of-week). Default: 15:00 on the 1st of each month, the original design's schedule."
  type        = string
  default     = "0 15 1 * *"

  validation {
    condition     = length(split(" ", trimspace(var.schedule))) == 5
    error_message = "schedule must be a cron expression of exactly 5 space-separated fields, e.g. \"0 15 1 * *\"."
  }
}

variable "time_zone" {
  description = "IANA time zone the schedule is read in, e.g. Etc/UTC or America/Los_Angeles."
  type        = string
  default     = "Etc/UTC"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.time_zone))
    error_message = "time_zone must be an IANA zone name such as Etc/UTC or America/Los_Angeles."
  }
}

variable "job_cpu" {
  description = "vCPUs of the job's container (the pipeline uses two cores: download and parse overlap, DuckDB builds in parallel)."
  type        = string
  default     = "2"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.job_cpu)
    error_message = "job_cpu must be one of 1, 2, 4, 6, 8."
  }
}

variable "job_memory" {
  description = "Memory of the job's container. It also holds the data dir (Cloud Run's file system is in memory): the warehouse file and the local copy of the lake, besides the ~0.5 GB the build uses."
  type        = string
  default     = "4Gi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.job_memory))
    error_message = "job_memory must be a Kubernetes-style quantity such as 4Gi or 2048Mi."
  }
}

variable "job_timeout_seconds" {
  description = "Longest a run may take. A full backfill since 2008 downloads ~0.8 GB of JSON from the city's API (about 15 s against a local server; minutes over the internet, longer when throttled), then builds and publishes; 1 hour leaves a wide margin."
  type        = number
  default     = 3600

  validation {
    condition     = var.job_timeout_seconds >= 600 && var.job_timeout_seconds <= 86400
    error_message = "job_timeout_seconds must be between 600 (10 minutes) and 86400 (24 hours, Cloud Run's limit)."
  }
}

variable "job_max_retries" {
  description = "How often Cloud Run retries a failed run (crimewatch's commit protocol makes a retry safe: a failed run leaves the lake as it was)."
  type        = number
  default     = 1

  validation {
    condition     = var.job_max_retries >= 0 && var.job_max_retries <= 10
    error_message = "job_max_retries must be between 0 and 10."
  }
}

variable "serve_dashboard" {
  description = "Also run the dashboard: a Cloud Run service with `crimewatch up`, one instance always on (about $50/month, see docs/deploy-gcp.md). It keeps the schedule itself, so no Cloud Scheduler trigger is created."
  type        = bool
  default     = false
}

variable "dashboard_public" {
  description = "Let anyone on the internet open the dashboard (roles/run.invoker for allUsers). The data is public; the default keeps it to IAM-authenticated callers."
  type        = bool
  default     = false
}

variable "service_cpu" {
  description = "vCPUs of the dashboard service's container."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4"], var.service_cpu)
    error_message = "service_cpu must be one of 1, 2, 4."
  }
}

variable "service_memory" {
  description = "Memory of the dashboard service's container (holds the data dir too, as for the job)."
  type        = string
  default     = "2Gi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.service_memory))
    error_message = "service_memory must be a Kubernetes-style quantity such as 2Gi or 1536Mi."
  }
}

variable "socrata_url" {
  description = "Another SODA-compatible host instead of https://data.seattle.gov (crimewatch's --socrata-url). Null keeps crimewatch's default."
  type        = string
  default     = null

  validation {
    condition     = var.socrata_url == null || can(regex("^https?://[^ ]+$", coalesce(var.socrata_url, "http://ok")))
    error_message = "socrata_url must be an http:// or https:// URL."
  }
}

variable "log_filter" {
  description = "RUST_LOG for the containers (crimewatch logs through tracing to stderr, which Cloud Logging collects)."
  type        = string
  default     = "crimewatch=info"
}

variable "labels" {
  description = "Extra labels on every resource that takes labels (app=crimewatch and managed-by=terraform are always set)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "labels keys must start with a lowercase letter; keys and values may hold lowercase letters, digits, '_' and '-' (at most 63)."
  }
}
