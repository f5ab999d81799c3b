"""The join on a real organisation's mess, against its ground truth (pipelines/sample, mixed mode).

The mixed organisation logs through several observers at once and is billed through overlapping channels:
canonical JSON lines, OTel spans and a LiteLLM proxy seeing the same calls (id-less embeddings among them,
with decoys: different calls alike in tokens a moment apart), Langfuse v2 pages, an Azure deployment name as
the requested model, a Bedrock application inference profile ARN, the OpenAI Usage API and the dashboard CSV
for the same days, the CUR and the Bedrock invocation logs for the same calls, a restated Costs page, Gemini
usage in the GCP export, an Azure bill in EUR. Built through Dagster like the nightly job.
"""

import json
from decimal import Decimal

import duckdb
import pytest

from pipelines.sample import SampleSpec
from tests.pipeline.orgs import built_org

CENT = Decimal("0.01")
SPEC = SampleSpec(days=3, calls_per_day=1500, seed=3, log_formats=("mixed",))
USAGE_FIELDS = ["input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
                "reasoning_tokens", "requests"]


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with built_org(tmp_path_factory.mktemp("mixed"), SPEC) as (_, truth, landed, con):
        yield json.loads(truth.to_json()), landed, con


def test_every_file_lands_whole(org):
    _, landed, _ = org
    assert [r.error for r in landed if r.error] == []
    assert sum(r.quarantined for r in landed) == 0


def test_one_row_per_logical_call(org):
    truth, _, con = org
    for day in truth["mixed"]["days"]:
        calls = con.execute("select count(*) from fct_llm_calls where day = $d", {"d": day["day"]}).fetchone()[0]
        assert calls == day["logical_calls"], day["day"]


def test_attributed_cost_per_app_within_half_a_percent_of_the_truth(org):
    truth, _, con = org
    for day in truth["mixed"]["days"]:
        got = dict(con.execute("select app, sum(attributed_cost_usd) from fct_llm_calls where day = $d group by all",
                               {"d": day["day"]}).fetchall())
        assert set(got) == set(day["app_billed_usd"]), day["day"]
        for app, want in day["app_billed_usd"].items():
            want = Decimal(want["total_usd"])
            assert abs(got[app] - want) <= want * Decimal("0.005"), (day["day"], app, got[app], want)


def test_usage_tokens_per_provider_and_model_equal_the_truth(org):
    """Exactly, on every field the provider's data reports, once per fact whatever channels delivered it. Only the
    CUR stands for Bedrock and it has no request counts (the invocation logs do: fct_usage_channels keeps them)."""
    truth, _, con = org
    reported = truth["mixed"]["usage_reported"]
    for day in truth["mixed"]["days"]:
        rows = con.execute(
            "select provider, model, " + ", ".join(f"sum({f})::bigint" for f in USAGE_FIELDS)
            + " from fct_provider_usage where day = $d group by all", {"d": day["day"]}).fetchall()
        got = {(r[0], r[1]): dict(zip(USAGE_FIELDS, r[2:])) for r in rows}
        # model ids are case-folded (a fine-tuned model's suffix is mixed-case in the bill and the calls alike)
        assert set(got) == {(u["provider"], u["model"].lower()) for u in day["usage"]}, day["day"]
        for u in day["usage"]:
            fields = [f for f in reported[u["provider"]] if not (u["provider"] == "aws" and f == "requests")]
            assert {f: got[(u["provider"], u["model"].lower())][f] for f in fields} == {f: u[f] for f in fields}, \
                (day["day"], u["provider"], u["model"])
        aws_requests = con.execute(
            "select sum(requests) from fct_usage_channels where day = $d and channel = 'bedrock_invocation_logs'",
            {"d": day["day"]}).fetchone()[0]
        assert aws_requests == sum(u["requests"] for u in day["usage"] if u["provider"] == "aws")


def test_every_channel_overlap_is_visible_and_agrees(org):
    _, _, con = org
    overlaps = con.execute("select distinct provider, channel, stands from fct_usage_channels where channels > 1 "
                           "order by all").fetchall()
    assert overlaps == [("aws", "aws_cur", True), ("aws", "bedrock_invocation_logs", False)]
    # The OpenAI API pages and the dashboard CSV are one channel: the newest complete delivery stands.
    assert con.execute("select count(*) from fct_usage_channels where tokens_vs_standing <> 0").fetchone()[0] == 0


def test_id_less_calls_merged_without_false_merges(org):
    """Target: no false merge, at least 99 % of true pairs merged (measured: all of them)."""
    truth, _, con = org
    owner = dict(con.execute("select unnest(string_split(record_call_ids, ',')), call_id from fct_llm_calls").fetchall())
    pairs = truth["mixed"]["merge_pairs"]
    merged = sum(owner.get(p["otel_span_id"]) is not None
                 and owner.get(p["otel_span_id"]) == owner.get(p["litellm_request_id"]) for p in pairs)
    assert pairs and merged / len(pairs) >= 0.99
    assert merged == len(pairs)
    for decoy in truth["mixed"]["decoy_pairs"]:
        records = decoy["otel_span_ids"] + decoy["litellm_request_ids"]
        assert len({owner[r] for r in records}) == 2, decoy
    assert con.execute("select count(*) filter (where merged_without_id) from fct_llm_calls").fetchone()[0] == len(pairs)


def test_every_model_resolved_and_priced(org):
    _, _, con = org
    # An endpoint's calls carry the endpoint's hourly cost, not a list price.
    assert con.execute("select count(*) from fct_llm_calls where not is_priced and endpoint is null").fetchone()[0] == 0
    resolved = dict(con.execute("select model_resolution, count(*) from fct_llm_calls group by all").fetchall())
    assert resolved.get("resolved:bill", 0) > 0  # the Bedrock profile ARN, from the CUR's own lines
    assert resolved.get("resolved:call", 0) > 0  # the Azure deployment LiteLLM alone saw, through a shared call


def test_the_bill_is_exact_and_reconciles_to_the_cent(org):
    truth, _, con = org
    for day in truth["days"]:
        billed = dict(con.execute("select provider, sum(billed_cost_usd) from fct_provider_costs where day = $d "
                                  "group by all", {"d": day["day"]}).fetchall())
        for provider, gross in day["billed_usd"].items():
            want = Decimal(gross) + (Decimal(day["credits_usd"]) if provider == "google" else 0)
            assert abs(billed[provider] - want) < CENT, (day["day"], provider)
        total, spread = con.execute(
            "select sum(billed_cost_usd), sum(attributed_cost_usd + unattributed_cost_usd) from fct_reconciliation "
            "where day = $d", {"d": day["day"]}).fetchone()
        assert abs(total - spread) < CENT


def test_bill_owners_name_their_apps_from_tags(org):
    """The Azure bill's tags name support-bot; so do the CUR lines of the Bedrock application inference profile
    (its resource tags; the Titan foundation-model lines carry none)."""
    _, _, con = org
    owners = dict(con.execute("select provider || '/' || model, list(distinct owner_app) from fct_reconciliation "
                              "where provider = 'azure' or model = 'claude-haiku-4-5' and provider = 'aws' "
                              "group by all").fetchall())
    assert owners == {"azure/gpt-4o-mini": ["support-bot"], "aws/claude-haiku-4-5": ["support-bot"]}


def test_output_ceilings_found_on_their_days_with_the_truths_saving(org):
    truth, _, con = org
    levers = truth["mixed"]["levers"]
    for day in levers["days"]:
        for want in day["ceilings"]:
            row = con.execute(
                "select sum(calls), min(uncapped_share), sum(truncated_calls), max(cap_p99_tokens), "
                "sum(whatif_cap_p99_tokens_saved), sum(whatif_cap_p99_saving_usd), max(output_p95_tokens) "
                "from mart_output_ceilings where day = $d and app = $a and feature = $f",
                {"d": day["day"], "a": want["app"], "f": want["feature"]}).fetchone()
            calls, uncapped, truncated, p99, saved, saving, p95 = row
            assert calls == want["calls"] and truncated == want["truncated_calls"], (day["day"], want)
            assert uncapped == want["uncapped_calls"] / want["calls"]
            assert p99 == want["cap_p99_tokens"] and p95 == want["output_p95_tokens"]
            assert saved == want["whatif_cap_p99_tokens_saved"]
            assert abs(saving - Decimal(want["whatif_cap_p99_saving_usd"])) < Decimal("1e-9"), (day["day"], want)
    by_day = {d["day"]: {c["feature"]: c for c in d["ceilings"]} for d in levers["days"]}
    # The uncapped feature's outputs grow after its prompt change; the tight cap truncates on every day.
    first, *later = sorted(by_day)
    assert all(by_day[d]["kb_answer"]["output_p95_tokens"] > 1.5 * by_day[first]["kb_answer"]["output_p95_tokens"]
               for d in later)
    assert all(by_day[d]["ticket_tag"]["truncated_calls"] / by_day[d]["ticket_tag"]["calls"] > 0.2 for d in by_day)
    assert all(by_day[d]["kb_answer"]["uncapped_calls"] == by_day[d]["kb_answer"]["calls"] for d in by_day)


def test_runaway_agent_sessions_flagged_on_their_day_and_no_other(org):
    truth, _, con = org
    levers = truth["mixed"]["levers"]
    flagged = con.execute(
        "select day::varchar, session_key, calls, steps from mart_sessions "
        "where is_runaway and feature = 'resolve_agent' order by session_key").fetchall()
    planted = [(levers["runaway_day"], r["session_id"], r["calls"], r["calls"])
               for d in levers["days"] for r in d["runaways"]]
    assert planted and flagged == sorted(planted, key=lambda r: r[1])
    # Each runaway is a chain (steps = calls, through parent_call_id) and the feature's costliest sessions that day.
    top = con.execute("select is_runaway, feature_cost_share > 0.1 from mart_sessions where day = $d "
                      "and feature = 'resolve_agent' order by cost_usd desc limit 4",
                      {"d": levers["runaway_day"]}).fetchall()
    assert top == [(True, True)] * 3 + [(False, False)]


def test_the_runaway_day_digest_shows_the_runaway_sessions(org):
    """The digest of the runaway day lists the planted loops (costliest first, with their steps); the day before
    lists none of the agent's."""
    from datetime import date, timedelta

    from pipelines.reporting.digest import build_digest, render

    truth, _, con = org
    levers = truth["mixed"]["levers"]
    day = date.fromisoformat(levers["runaway_day"])
    d = build_digest(con, day)
    planted = {r["session_id"]: r["calls"] for x in levers["days"] for r in x["runaways"]}
    # (mart_sessions also flags a short but costly session of another feature; the digest lists it too)
    assert {r["session_key"]: r["steps"] for r in d.runaways if r["feature"] == "resolve_agent"} == planted
    assert [r["cost_usd"] for r in d.runaways] == sorted((r["cost_usd"] for r in d.runaways), reverse=True)
    text = render(d, "digest.txt.j2")
    assert "Runaway sessions (" in text
    assert all(f"{k} ({day:%m-%d}): {n} steps" in text for k, n in planted.items())
    before = build_digest(con, day - timedelta(days=1)).runaways
    assert not [r for r in before if r["feature"] == "resolve_agent"]


def _endpoint_rows(con) -> dict:
    rows = con.execute("select day::varchar, endpoint, cost_usd, usage_hours, calls, tokens_served, capacity_tokens, "
                       "idle_cost_usd, cost_per_mtok_usd, idle_share from mart_endpoints").fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def test_endpoints_idle_cost_and_cost_per_mtok_per_day_equal_the_truth(org):
    """Each day and endpoint: what the CUR billed, the tokens its calls served, and (capacity configured) the idle
    cost and cost per 1M tokens the generator's own numbers give. Utilisation is a DOUBLE: a micro-dollar apart."""
    truth, _, con = org
    got = _endpoint_rows(con)
    want = truth["mixed"]["endpoints"]["days"]
    assert set(got) == {(t["day"], t["endpoint"]) for t in want}
    for t in want:
        cost, hours, calls, tokens, capacity, idle, per_mtok, _ = got[t["day"], t["endpoint"]]
        assert (cost, hours, calls, tokens, capacity) == (
            Decimal(t["cost_usd"]), t["usage_hours"], t["calls"], t["tokens_served"], t["capacity_tokens"]), t
        assert abs(idle - Decimal(t["idle_cost_usd"])) < Decimal("1e-6"), t
        if t["cost_per_mtok_usd"] is None:
            assert per_mtok is None, t
        else:
            assert abs(per_mtok - Decimal(t["cost_per_mtok_usd"])) < Decimal("1e-6"), t


def test_the_idle_weekend_is_found(org):
    """The weekend left running at full size: the self-hosted endpoint billed all day, served nothing, all idle and
    owned by the endpoint in the reconciliation."""
    truth, _, con = org
    got = _endpoint_rows(con)
    left = truth["mixed"]["endpoints"]["left_running_days"]
    assert left
    idle_days = sorted(d for (d, e), r in got.items() if e == "llama-chat" and r[7] == 1.0)
    assert idle_days == left
    for day in left:
        owner, unattributed, reason = con.execute(
            "select unattributed_owner, unattributed_cost_usd, gap_reason from fct_reconciliation "
            "where day = $d and provider = 'self_hosted' and model = 'llama-chat'", {"d": day}).fetchone()
        assert (owner, reason) == ("endpoint:llama-chat", "idle_capacity")
        assert unattributed == got[day, "llama-chat"][0] > 0


def test_attributed_plus_unattributed_is_billed_per_day_with_the_endpoints(org):
    truth, _, con = org
    for day in truth["days"]:
        billed, spread, endpoints = con.execute(
            "select sum(billed_cost_usd), sum(attributed_cost_usd + unattributed_cost_usd), "
            "sum(billed_cost_usd) filter (where model in ('llama-chat', 'haiku-pt')) from fct_reconciliation "
            "where day = $d", {"d": day["day"]}).fetchone()
        assert abs(billed - spread) < CENT and abs(billed - Decimal(day["billed_total_usd"])
                                                  - Decimal(day["credits_usd"])) < CENT
        assert endpoints == sum(Decimal(t["cost_usd"]) for t in truth["mixed"]["endpoints"]["days"]
                                if t["day"] == day["day"])


def test_fine_tuned_model_priced_beside_its_base_and_its_training_found(org):
    """ticket_tag runs on a fine-tuned gpt-4o-mini: its calls at genai-prices' fine-tuned price (2× the base) and at
    the base's, each day exactly as the generator billed them; the tuning job's line is its training cost, no call's;
    the same tokens cost more than on the base, so there is no payback to show."""
    truth, _, con = org
    days = truth["mixed"]["days"]
    model = days[0]["finetune"]["model"].lower()  # model ids are case-folded
    for f in (d["finetune"] for d in days):
        got = con.execute("select list_cost_usd, base_list_cost_usd from mart_finetune_calls "
                          "where day = $d and fine_tuned_model = $m", {"d": f["day"], "m": model}).fetchone()
        assert got == (Decimal(f["list_cost_usd"]), Decimal(f["base_list_cost_usd"])), f
    training = sum(Decimal(v) for d in days for v in d["fine_tuning_usd"].values())
    month = con.execute("select training_cost_usd, inference_list_cost_usd, base_list_cost_usd, payback_months, "
                        "payback_note from mart_finetunes where fine_tuned_model = $m", {"m": model}).fetchall()
    assert len(month) == 1 and training > 0
    assert month[0][:3] == (training, sum(Decimal(d["finetune"]["list_cost_usd"]) for d in days),
                            sum(Decimal(d["finetune"]["base_list_cost_usd"]) for d in days))
    assert month[0][3] is None and month[0][4].startswith("costs more than the base model")
