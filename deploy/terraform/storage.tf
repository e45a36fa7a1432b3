# The lake: crimewatch's only copy of the source's history (every month file and revision it has fetched). The
# warehouse, BigQuery's tables and the image can all be rebuilt from it; the lake itself cannot be fetched again
# as it was, because the city revises and deletes reports. So this bucket is built to keep things:
#  - versioning on: an overwritten or deleted object stays as a noncurrent version (crimewatch's manifest is
#    replaced on every run, and its garbage collection deletes unreferenced files);
#  - no lifecycle rule that deletes anything. The original design had a 30-day delete rule that silently erased
#    the lake's history; deleting is left to crimewatch's own garbage collection, which only removes files no
#    manifest names (and versioning keeps even those). deploy/checkov/policies fails the build if a Delete rule,
#    or versioning off, or force_destroy comes back;
#  - deletion_policy = "ABANDON": `terraform destroy` (or a change that would replace the bucket) only forgets
#    it, leaving bucket and objects as they are; force_destroy = false: even a bucket Terraform did try to delete
#    is not emptied first. docs/deploy-gcp.md, "Tearing down", shows how to adopt the kept bucket again.
resource "google_storage_bucket" "lake" {
  #checkov:skip=CKV_GCP_62:Access logs would need a second bucket that itself needs logging; object access is in Cloud Audit Logs (Data Access logs for Cloud Storage), see docs/deploy-gcp.md.
  name                        = local.bucket_name
  project                     = var.project_id
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  deletion_policy             = "ABANDON"

  versioning {
    enabled = true
  }

  depends_on = [google_project_service.apis]
}
