terraform {
  # 1.5+: import blocks, to adopt a kept lake bucket again (docs/deploy-gcp.md).
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 7.33 added `deletion_policy`, which lets `terraform destroy` keep the lake bucket (storage.tf).
      version = ">= 7.33, < 8.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = merge(var.labels, { app = "crimewatch", managed-by = "terraform" })
}
