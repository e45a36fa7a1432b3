"""Proves that CKV_CW_1 (policies/lake_bucket_keeps_history.py) fails where it must and passes where it may.

Two kinds of cases, each run through the real checkov CLI exactly as scripts/check-deploy runs it:
  - fixtures/*.tf: one bucket each; `bad_*` resources must FAIL, `good_*` resources must PASS;
  - mutations of the real deploy/terraform/storage.tf: the lake bucket with versioning removed, with versioning
    off, with a Delete lifecycle rule added, with force_destroy on; each must FAIL, and the file as it is must PASS.
Run: <checkov venv>/bin/python -m unittest discover -s deploy/checkov/tests -v  (scripts/check-deploy does).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
POLICIES = HERE.parent / "policies"
FIXTURES = HERE / "fixtures"
STORAGE_TF = REPO / "deploy" / "terraform" / "storage.tf"
CHECKOV = os.environ.get("CHECKOV", str(Path(sys.executable).with_name("checkov")))


def scan(directory: Path) -> dict:
    """Runs CKV_CW_1 over a directory; returns {resource address: "PASSED" | "FAILED"}."""
    proc = subprocess.run(
        [CHECKOV, "--directory", str(directory), "--framework", "terraform", "--external-checks-dir", str(POLICIES),
         "--check", "CKV_CW_1", "--skip-download", "--output", "json"],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode not in (0, 1):
        raise AssertionError(f"checkov failed to run (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    outcome = {}
    for r in reports:
        for key in ("passed_checks", "failed_checks"):
            for c in r.get("results", {}).get(key, []):
                if c["check_id"] == "CKV_CW_1":
                    outcome[c["resource"]] = c["check_result"]["result"]
    return outcome


class Fixtures(unittest.TestCase):
    def test_each_bad_fixture_fails_and_each_good_one_passes(self):
        outcome = scan(FIXTURES)
        expected = {}
        for tf in sorted(FIXTURES.glob("*.tf")):
            for name in re.findall(r'resource "google_storage_bucket" "(\w+)"', tf.read_text()):
                expected[f"google_storage_bucket.{name}"] = "FAILED" if name.startswith("bad_") else "PASSED"
        self.assertGreaterEqual(sum(v == "FAILED" for v in expected.values()), 6, "the bad fixtures are missing")
        self.assertEqual(outcome, expected)


class MutationsOfTheRealLakeBucket(unittest.TestCase):
    def setUp(self):
        self.original = STORAGE_TF.read_text()
        self.assertIn('resource "google_storage_bucket" "lake"', self.original)
        self.tmp = Path(tempfile.mkdtemp(prefix="ckv-cw-1-"))
        self.addCleanup(shutil.rmtree, self.tmp)

    def outcome_of(self, text: str) -> str:
        (self.tmp / "storage.tf").write_text(text)
        return scan(self.tmp).get("google_storage_bucket.lake", "NOT SCANNED")

    def mutate(self, pattern: str, replacement: str) -> str:
        mutated, n = re.subn(pattern, replacement, self.original, flags=re.S)
        self.assertEqual(n, 1, f"mutation {pattern!r} did not apply to storage.tf")
        return mutated

    def test_the_lake_bucket_as_written_passes(self):
        self.assertEqual(self.outcome_of(self.original), "PASSED")

    def test_lake_without_versioning_fails(self):
        self.assertEqual(self.outcome_of(self.mutate(r"\n  versioning \{\n    enabled = true\n  \}\n", "\n")), "FAILED")

    def test_lake_with_versioning_off_fails(self):
        self.assertEqual(self.outcome_of(self.mutate(r"(versioning \{\n    enabled = )true", r"\1false")), "FAILED")

    def test_lake_with_a_delete_rule_fails(self):
        rule = '\n  lifecycle_rule {\n    condition {\n      age = 30\n    }\n    action {\n      type = "Delete"\n    }\n  }\n'
        self.assertEqual(self.outcome_of(self.mutate(r"(\n  versioning \{)", rule + r"\1")), "FAILED")

    def test_lake_with_force_destroy_fails(self):
        self.assertEqual(self.outcome_of(self.mutate(r"\n  force_destroy( +)= false\n", r"\n  force_destroy\1= true\n")), "FAILED")


if __name__ == "__main__":
    unittest.main(verbosity=2)
