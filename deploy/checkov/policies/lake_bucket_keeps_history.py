"""CKV_CW_1: the lake bucket keeps its history.

The lake is crimewatch's only copy of what the city has published over time, revisions included. The original
design lost it to a 30-day delete rule on its bucket. This check fails a Cloud Storage bucket that
  - has no `versioning { enabled = true }` (a replaced manifest or a collected file would be gone for good),
  - has any lifecycle rule whose action is Delete (including one hidden in a `dynamic "lifecycle_rule"` block,
    which cannot be proven harmless without its inputs), or
  - sets `force_destroy = true` (Terraform would empty the bucket before deleting it).
Every bucket in deploy/terraform is the lake, so the check applies to every google_storage_bucket. Run by
scripts/check-deploy with `--external-checks-dir deploy/checkov/policies`; its failing cases are in
deploy/checkov/tests/.
"""

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _first(value):
    """Checkov's HCL parser wraps every attribute value in a list; unwrap one level."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _is_true(value) -> bool:
    value = _first(value)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _blocks(conf, name):
    """The blocks called `name` in a resource or block body, as a list of dicts."""
    blocks = conf.get(name) or []
    if isinstance(blocks, dict):
        blocks = [blocks]
    return [b for b in blocks if isinstance(b, dict)]


class LakeBucketKeepsHistory(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="The crimewatch lake bucket keeps its history: versioning on, no Delete lifecycle rule, no force_destroy",
            id="CKV_CW_1",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["google_storage_bucket"],
        )

    def scan_resource_conf(self, conf) -> CheckResult:
        self.details = []
        if not any(_is_true(v.get("enabled")) for v in _blocks(conf, "versioning")):
            self.details.append("versioning is not enabled: add versioning { enabled = true }")
        for rule in _blocks(conf, "lifecycle_rule"):
            for action in _blocks(rule, "action"):
                if str(_first(action.get("type"))).strip().lower() == "delete":
                    self.details.append("a lifecycle_rule deletes objects: remove it (crimewatch collects its own garbage)")
        for dynamic in _blocks(conf, "dynamic"):
            if "lifecycle_rule" in dynamic:
                self.details.append("a dynamic lifecycle_rule block may delete objects: write the rules out")
        if _is_true(conf.get("force_destroy")):
            self.details.append("force_destroy = true lets Terraform empty the bucket: set it to false")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = LakeBucketKeepsHistory()
