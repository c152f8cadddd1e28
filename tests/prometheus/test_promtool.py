"""promtool: the rule files and scrape config are valid and the rule unit tests pass (runs in `make test`)."""
from __future__ import annotations

import subprocess

import yaml

from .helpers import PROM_DIR, need_binary, render_fast_alert_rules


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([need_binary("promtool"), *args], capture_output=True, text=True, timeout=120,
                          cwd=PROM_DIR)


def test_rules_are_valid():
    out = _promtool("check", "rules", "recording_rules.yml", "alert_rules.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_rule_unit_tests_pass():
    out = _promtool("test", "rules", "tests/rules_test.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr


def test_scrape_config_is_valid():
    out = _promtool("check", "config", "prometheus.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    jobs = {j["job_name"] for j in yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())["scrape_configs"]}
    assert {"failcat-api", "failcat-dashboard", "failcat-pushgateway"} <= jobs


def test_alerts_have_the_guides_names_thresholds_and_severities():
    rules = {
        r["alert"]: r
        for g in yaml.safe_load((PROM_DIR / "alert_rules.yml").read_text())["groups"]
        for r in g["rules"]
    }
    assert set(rules) == {"FailureCatalogMissRateHigh", "RecoverySuccessRateLow", "FailurePersistDropped",
                          "R2UploadFailed"}
    assert (rules["FailureCatalogMissRateHigh"]["for"], rules["FailureCatalogMissRateHigh"]["labels"]["severity"]) \
        == ("10m", "warning")
    assert "> 0.30" in rules["FailureCatalogMissRateHigh"]["expr"]
    assert (rules["RecoverySuccessRateLow"]["for"], rules["RecoverySuccessRateLow"]["labels"]["severity"]) \
        == ("30m", "warning")
    assert "< 0.50" in rules["RecoverySuccessRateLow"]["expr"]
    assert (rules["FailurePersistDropped"]["for"], rules["FailurePersistDropped"]["labels"]["severity"]) \
        == ("5m", "critical")
    assert 'status="fallback_local"' in rules["R2UploadFailed"]["expr"]
    assert rules["R2UploadFailed"]["labels"]["severity"] == "warning"


def test_fast_rule_copy_is_valid_and_only_changes_for(tmp_path):
    fast = render_fast_alert_rules(tmp_path / "alert_rules_fast.yml")
    out = _promtool("check", "rules", str(fast))
    assert out.returncode == 0, out.stdout + out.stderr
    real = yaml.safe_load((PROM_DIR / "alert_rules.yml").read_text())
    copy = yaml.safe_load(fast.read_text())
    for g_real, g_copy in zip(real["groups"], copy["groups"], strict=True):
        for r_real, r_copy in zip(g_real["rules"], g_copy["rules"], strict=True):
            assert r_copy["for"] == "0s"
            assert {k: v for k, v in r_real.items() if k != "for"} == {k: v for k, v in r_copy.items() if k != "for"}
