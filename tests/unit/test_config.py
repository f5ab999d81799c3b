"""tokenbooks.yaml is validated against its schema: mistakes are refused with the key's path and what was expected."""

import json

import jsonschema
import pytest
import yaml

from pipelines.cli import main
from pipelines.config import Attributes, json_schema
from pipelines.ingest.attributes import FIELDS, OTHER_SECTION_KEYS
from pipelines.settings import PROJECT_ROOT, SCHEMAS_DIR, ConfigError, load_settings

PUBLISHED = SCHEMAS_DIR / "config" / "tokenbooks.schema.json"


def readme_config() -> dict:
    blocks = [b.split("```")[0] for b in (PROJECT_ROOT / "README.md").read_text().split("```yaml\n")[1:]]
    return yaml.safe_load(next(b for b in blocks if b.startswith("attributes:")))  # the full example


def write(home, text: str):
    home.home.mkdir(parents=True, exist_ok=True)
    (home.home / "tokenbooks.yaml").write_text(text)


@pytest.mark.parametrize("text, message", [
    ("bogus_key: 1\n", "bogus_key: unknown key; expected one of attributes, budgets, dagster, drift, "),
    ("budgets:\n  - {name: org, limit_usd: oops}\n", "budgets.0.limit_usd: Input should be a valid decimal (got 'oops')"),
    ("smtp: {host: x, prot: 25}\n", "smtp.prot: unknown key; expected one of attempts, backoff_s, host, port, "),
    ("restate_days: three\n", "restate_days: Input should be a valid integer"),
    ("model_tiers: {gpt-4o: huge}\n", "model_tiers.gpt-4o: Input should be 'frontier', 'mid' or 'small'"),
    ("whatif_models: [gpt-4o-mini]\n", "whatif_models.0: String should match pattern"),
    ("price_overrides:\n  - {model: m, discount: 10}\n", "price_overrides.0.discount: unknown key; expected one of "),
    ("recipients:\n  - 'ok@x, extra@evil'\n", "recipients.0: expected one e-mail address like name@example.com"),
    ("recipients:\n  - {address: \"a@b\\r\\nBcc: evil@x\"}\n", "recipients.0.address: an e-mail address cannot contain"),
    ("smtp: {sender: \"me@x\\nBcc: evil@x\"}\n", "smtp.sender: an e-mail address cannot contain a line break"),
    ("dagster: {first_day: 2026-02-30}\n", "not valid YAML: day is out of range for month"),
    ("- just\n- a list\n", "the top level must be a mapping"),
])
def test_a_mistake_is_refused_with_the_key_path_and_what_was_expected(home, text, message):
    write(home, text)
    with pytest.raises(ConfigError) as err:
        load_settings(home=home.home)
    assert message in str(err.value) and str(home.home / "tokenbooks.yaml") in str(err.value)
    assert "\n" not in str(err.value)


def test_a_secret_in_the_file_is_still_refused(home):
    write(home, "smtp:\n  host: x\n  password: hunter2\n")
    with pytest.raises(ConfigError, match="secrets .password. belong in environment variables"):
        load_settings(home=home.home)


def test_a_config_file_named_on_purpose_must_exist(home, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(home=home.home, config=tmp_path / "nope.yaml")
    monkeypatch.setenv("TOKENBOOKS_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(home=home.home)


def test_an_smtp_setting_from_the_environment_is_validated_too(home, monkeypatch):
    monkeypatch.setenv("TOKENBOOKS_SMTP_PORT", "smtp")
    with pytest.raises(ConfigError, match=r"environment \(TOKENBOOKS_SMTP_PORT\): smtp: port: Input should be a valid"):
        load_settings(home=home.home)
    monkeypatch.delenv("TOKENBOOKS_SMTP_PORT")
    monkeypatch.setenv("TOKENBOOKS_SMTP_HOST", "smtp.example.com\r\nRCPT TO:<evil@x>")
    with pytest.raises(ConfigError, match=r"TOKENBOOKS_SMTP_HOST\): smtp: host cannot contain a line break"):
        load_settings(home=home.home)


def test_the_readme_example_is_valid_and_means_what_it_says(home):
    write(home, yaml.safe_dump(readme_config()))
    settings = load_settings(home=home.home)
    assert [b.name for b in settings.budgets] == ["total", "support"]
    assert settings.recipients[1].apps == ("support-bot",)
    assert settings.price_overrides[0]["from"].isoformat() == "2026-01-01"
    assert settings.attribute_mapping == {"app": ["service.name", "tag:product"], "feature": ["app.feature", "tag:feature"],
                                          "tenant_id": ["tenant.id", "org_id"]}


def test_the_published_json_schema_is_up_to_date_and_checks_the_file():
    assert json.loads(PUBLISHED.read_text()) == json_schema(), (
        "schemas/config/tokenbooks.schema.json is stale: tokenbooks config schema > schemas/config/tokenbooks.schema.json")
    schema = json.loads(PUBLISHED.read_text())
    jsonschema.validate(json.loads(json.dumps(readme_config(), default=str)), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"bogus_key": 1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"recipients": ["ok@x, extra@evil"]}, schema)


def test_the_attributes_section_lists_every_mappable_field():
    assert set(Attributes.model_fields) == set(FIELDS + OTHER_SECTION_KEYS + ("endpoint",))  # endpoint: bill tags only


def test_config_check_prints_the_effective_config(home, capsys, monkeypatch):
    write(home, "restate_days: 5\nsmtp: {host: mail.example.com}\n")
    monkeypatch.setenv("TOKENBOOKS_SMTP_PORT", "2525")
    monkeypatch.setenv("TOKENBOOKS_SMTP_PASSWORD", "hunter2-planted")
    assert main(["--home", str(home.home), "config", "check"]) == 0
    out = capsys.readouterr().out
    shown = yaml.safe_load(out)
    assert shown["restate_days"] == 5 and shown["duckdb_memory_limit"] == "3GB"  # set, and defaulted
    assert shown["smtp"]["host"] == "mail.example.com" and shown["smtp"]["port"] == 2525  # file, and environment
    assert shown["environment"]["TOKENBOOKS_SMTP_PASSWORD"] == "set" and "hunter2-planted" not in out
    assert shown["config_file"] == str(home.home / "tokenbooks.yaml")


def test_config_check_of_a_broken_config_is_one_line_and_nonzero(home, capsys):
    write(home, "bogus_key: 1\n")
    assert main(["--home", str(home.home), "config", "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bogus_key: unknown key" in err[0]
