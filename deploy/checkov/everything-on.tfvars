# Every optional resource on, so that Checkov scans all of them (scripts/check-deploy passes this file).
project_id       = "crimewatch-checkov"
image_tag        = "v1"
serve_dashboard  = true
dashboard_public = true
