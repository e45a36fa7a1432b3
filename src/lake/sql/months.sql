-- Report months present in the staged rows, with their row counts.
SELECT strftime(report_date_time, '%Y-%m') AS month, count(*) AS n
FROM rows
GROUP BY 1
ORDER BY 1;
