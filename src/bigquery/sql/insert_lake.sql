-- BigQuery Standard SQL, run as a query job. The lake's rows loaded from its own gs:// objects into `{raw}` (typed
-- as the files are, plus the folder's report_month as 'YYYY-MM' text) go into the staging table's temporary copy
-- typed as the staging table has them: UTC instants become TIMESTAMP (a DATETIME cast to TIMESTAMP is read as UTC),
-- report_month becomes the DATE of the month's first day.
INSERT INTO `{target}` ({columns})
SELECT {select}
FROM `{raw}`
