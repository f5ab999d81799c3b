"""Infrastructure that serves models, from the bills: GPU / accelerator instances, managed endpoints and
provisioned throughput land as ``compute`` / ``provisioned`` lines with their hours and the endpoint their tags
name; the rest of the bill (CPU instances, training jobs) stays skipped as not LLM serving."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.land import land_file
from pipelines.settings import Settings, load_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "tb")


def land(path: Path, settings: Settings):
    result = land_file(path, settings)
    assert result.error is None, result.error
    costs = pl.read_parquet(sorted((settings.lake / "provider_costs").glob("day=*/*.parquet")))
    return result, costs


def lines(costs: pl.DataFrame) -> dict[str, tuple]:
    return {
        r["line_item"]: (r["cost_type"], r["usage_hours"], r["endpoint"], r["billed_cost_usd"])
        for r in costs.iter_rows(named=True)
    }


def test_cur_gpu_instances_sagemaker_hosting_and_provisioned_throughput(settings: Settings) -> None:
    result, costs = land(FIXTURES / "aws/cur2_infra.csv", settings)
    # m5.large (a CPU instance) and a SageMaker training job are not serving: skipped, as before.
    assert (result.records_in, result.landed, result.skipped) == (6, 6, 2)
    got = lines(costs)
    # Two half-day rows of one instance are one line of 24 instance-hours.
    assert got["USE1-BoxUsage:g5.12xlarge"] == ("compute", Decimal("24"), "llama-chat", Decimal("136.128"))
    assert got["USE1-SpotUsage:p4d.24xlarge"] == ("compute", Decimal("2"), None, Decimal("19.66"))
    assert got["USE1-BoxUsage:inf2.xlarge"][:3] == ("compute", Decimal("24"), "embedder")
    assert got["USE1-Host:ml.g5.2xlarge"][:2] == ("compute", Decimal("24"))
    assert got["USE1-ProvisionedThroughput-NoCommit-ModelUnits"] == (
        "provisioned", Decimal("24"), "haiku-pt", Decimal("1008"))
    assert costs["model"].is_null().all()
    ranker = costs.filter(pl.col("line_item") == "USE1-Host:ml.g5.2xlarge").row(0, named=True)
    assert ranker["resource_id"] == "arn:aws:sagemaker:us-east-1:111122223333:endpoint/ranker"
    assert "|endpoint=llama-chat" in costs.filter(pl.col("endpoint") == "llama-chat")["line_key"][0]


def test_gcp_gpu_and_vertex_prediction_skus(settings: Settings) -> None:
    _, costs = land(FIXTURES / "google/billing_export_gpu.jsonl", settings)
    got = lines(costs)
    assert got["Nvidia L4 GPU running in Americas"] == ("compute", Decimal("24"), "mistral-gke", Decimal("13.44"))
    assert got["Vertex AI: Online/Batch Prediction NVIDIA L4 GPU running in Americas"] == (
        "compute", Decimal("12"), "vertex-llama", Decimal("9.6"))
    # Only GPU SKUs are infrastructure lines: a CPU core SKU is not, whatever its labels say.
    assert got["N1 Predefined Instance Core running in Americas"] == ("other", None, None, Decimal("3.04"))


def test_azure_gpu_vms_ml_endpoints_and_ptu(settings: Settings) -> None:
    result, costs = land(FIXTURES / "azure/cost_details_gpu.csv", settings)
    assert (result.records_in, result.landed, result.skipped) == (3, 3, 1)  # the D4s v3 VM is not LLM serving
    got = lines(costs)
    assert got["NC24ads A100 v4"] == ("compute", Decimal("24"), "phi-vllm", Decimal("88.16"))
    # An Azure ML online endpoint is named by its resource id when no tag names it.
    assert got["NC6s v3"] == ("compute", Decimal("24"), "scorer", Decimal("73.44"))
    # 1.5 × "100 Hours" = 150 PTU-hours.
    assert got["Provisioned Managed Global Unit"] == ("provisioned", Decimal("150"), "gpt4o-ptu", Decimal("150"))


def test_endpoint_tag_keys_are_configurable(tmp_path: Path) -> None:
    home = tmp_path / "tb"
    home.mkdir()
    (home / "tokenbooks.yaml").write_text("attributes:\n  endpoint: [\"tag:app\"]\n")
    _, costs = land(FIXTURES / "aws/cur2_infra.csv", load_settings(home=home))
    # The configured key is tried first: the g5 instance is tagged app=support-bot.
    assert lines(costs)["USE1-BoxUsage:g5.12xlarge"][2] == "support-bot"
