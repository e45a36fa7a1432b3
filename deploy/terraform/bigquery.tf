# The two datasets `crimewatch publish` writes (issue 13): the lake's rows as crimewatch_staging.spd_crime and the
# tested marts as crimewatch_marts.*. Both are copies that any run rebuilds from the lake, so `terraform destroy`
# removes them with their tables (delete_contents_on_destroy) and nothing is lost that the lake does not hold.
resource "google_bigquery_dataset" "crimewatch" {
  #checkov:skip=CKV_GCP_81:The data is the city's public open data; Google-managed encryption at rest applies. A customer-managed key adds a key to rotate and protect without protecting anything secret.
  for_each = local.datasets

  dataset_id                 = each.value.id
  project                    = var.project_id
  location                   = var.location
  description                = each.value.description
  delete_contents_on_destroy = true

  depends_on = [google_project_service.apis]
}
