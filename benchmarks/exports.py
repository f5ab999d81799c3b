"""Benchmark: one large provider billing export landed, against DuckDB reading it once.

    python -m benchmarks.exports                     # a 1 GB AWS CUR 2.0 CSV and a 1 GB GCP billing export
    python -m benchmarks.exports --mb 200 --kinds cur

Each export is written in its real shape (``tests/fixtures/aws/cur2_bedrock.csv``,
``tests/fixtures/google/billing_export.jsonl``): hourly line items over a day, Bedrock and
Vertex AI SKUs among other services' lines, tags and labels, credits, IAM principals. Then,
each in its own child process (wall, CPU, peak RSS of that process):

* **floor** — DuckDB alone converts the file to Parquet once (``copy (select * from read_csv/read_json(f))``);
* **land** — ``land_file``: detect, parse, type, sum to the facts, validate, write the lake.

Results go to ``benchmarks/results/exports-<timestamp>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from benchmarks.measure import REPO, machine, run_phase

DAY = "2026-11-22"
BYTES_PER_ROW = {"cur": 400, "gcp": 570}  # roughly, to size the file

CUR_SQL = """
copy (
    select
        '2026-11-01T00:00:00Z' as bill_billing_period_start_date,
        '111122223333' as bill_payer_account_id,
        'li' || i as identity_line_item_id,
        strftime(timestamp '{day}' + to_hours(i % 24), '%Y-%m-%dT%H:%M:%SZ') as line_item_usage_start_date,
        strftime(timestamp '{day}' + to_hours(i % 24 + 1), '%Y-%m-%dT%H:%M:%SZ') as line_item_usage_end_date,
        '1111222233' || (i % 7) as line_item_usage_account_id,
        'Usage' as line_item_line_item_type,
        case when i % 5 = 0 then 'AmazonEC2' else 'AmazonBedrock' end as line_item_product_code,
        case when i % 5 = 0 then 'USE1-BoxUsage:m5.large'
             else ['USE1-Claude4.6Sonnet-input-tokens', 'USE1-Claude4.6Sonnet-output-tokens',
                   'USE1-Claude4.6Sonnet-cache-read-input-token-count', 'USE1-TitanEmbeddingV2-Text-input-tokens',
                   'USE1-MP:USE1_InputTokenCount-Units', 'USE1-MP:USE1_OutputTokenCount-Units'][1 + i % 6] end
            as line_item_usage_type,
        'InvokeModelInference' as line_item_operation,
        round(random() * 1000, 6)::varchar as line_item_usage_amount,
        '' as line_item_unblended_rate,
        round(random() * 5, 8)::varchar as line_item_unblended_cost,
        'USD' as line_item_currency_code,
        'Usage' as line_item_line_item_description,
        'arn:aws:sts::111122223333:assumed-role/Role' || (i % 20) || '/session-' || (i % 1000) as line_item_iam_principal,
        case when i % 6 in (4, 5) then '' else '1K tokens' end as pricing_unit,
        case when i % 5 = 0 then '{{"product_name": "Amazon Elastic Compute Cloud", "servicecode": "AmazonEC2"}}'
             else '{{"product_name": "Amazon Bedrock", "servicecode": "AmazonBedrock", "region": "us-east-1"}}' end
            as product,
        '{{"user_team": "team-' || (i % 10) || '"}}' as resource_tags,
    from range($n) as t(i)
) to '{path}' (format csv, header true)
"""

GCP_SQL = """
copy (
    select
        '01ABCD-234567-89EFGH' as billing_account_id,
        {{'id': 'C7E2-9256-1C43', 'description': case when i % 4 = 0 then 'Compute Engine' else 'Vertex AI' end}}
            as service,
        {{'id': 'SKU-' || (i % 6), 'description': ['Gemini 2.5 Flash Text Input - Predictions',
            'Gemini 2.5 Flash  Text Output - Predictions', 'Gemini 2.5 Flash Thinking Text Output - Predictions',
            'Gemini 2.5 Flash Lite Text Input - Predictions', 'Generate content cached input token count gemini 2.5 flash',
            'N1 Predefined Instance Core running in Americas'][1 + i % 6]}} as sku,
        strftime(timestamp '{day}' + to_hours(i % 24), '%Y-%m-%d %H:%M:%S UTC') as usage_start_time,
        strftime(timestamp '{day}' + to_hours(i % 24 + 1), '%Y-%m-%d %H:%M:%S UTC') as usage_end_time,
        {{'id': 'project-' || (i % 50), 'number': '1234', 'name': 'project-' || (i % 50)}} as project,
        [{{'key': 'team', 'value': 'team-' || (i % 10)}}, {{'key': 'env', 'value': 'prod'}}] as labels,
        round(random() * 3, 6) as cost,
        'USD' as currency,
        1.0 as currency_conversion_rate,
        {{'amount': (i % 1000) * 1000, 'unit': 'count'}} as usage,
        case when i % 3 = 0 then [{{'name': 'FreeTrial', 'amount': -0.01}}] else [] end as credits,
        'regular' as cost_type,
    from range($n) as t(i)
) to '{path}' (format json)
"""


def write_export(kind: str, mb: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"cur-{mb}mb.csv" if kind == "cur" else f"gcp-billing-{mb}mb.jsonl")
    if path.exists():
        return path
    rows = mb * 1024 * 1024 // BYTES_PER_ROW[kind]
    tmp = path.with_suffix(".tmp")
    con = duckdb.connect()
    # path and day are our own constants; the row count is a parameter
    con.execute((CUR_SQL if kind == "cur" else GCP_SQL).format(day=DAY, path=str(tmp)), {"n": rows})
    con.close()
    tmp.rename(path)
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=1024, help="size of each export (default 1024)")
    parser.add_argument("--kinds", default="cur,gcp", help="cur, gcp or both")
    parser.add_argument("--work", default=str(REPO / "benchmarks" / "work" / "exports"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    doc = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(), "exports": []}
    work = Path(args.work)
    for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
        path = write_export(kind, args.mb, work / "files")
        home = work / f"home-{kind}-{args.mb}"
        floor = run_phase("floor", {"files": [str(path)], "out_dir": str(work / "floor")})
        land = run_phase("land_export", {"home": str(home), "path": str(path)})
        doc["exports"].append({
            "kind": kind, "file": path.name, "mb": round(path.stat().st_size / 2**20, 1),
            "floor": floor.to_dict(),
            "land": land.to_dict(),
            "ratio": round(land.wall_s / floor.wall_s, 2) if floor.wall_s else None,
        })
        print(f"{kind}: {path.stat().st_size / 2**20:,.0f} MB, {land.result['records_in']:,} records: "
              f"floor {floor.wall_s:.1f}s / {floor.peak_rss_mb:,.0f} MB, land {land.wall_s:.1f}s / "
              f"{land.peak_rss_mb:,.0f} MB peak ({land.result['landed']:,} landed, {land.result['skipped']:,} "
              f"not LLM spend, {land.result['rows_written']:,} lake rows)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (out / f"exports-{stamp}.json").write_text(json.dumps(doc, indent=2, default=str))
    lines = ["| export | MB | records | floor s | land s | land / floor | land peak MB |", "|---|---|---|---|---|---|---|"]
    for e in doc["exports"]:
        land = e["land"]
        lines.append(f"| {e['kind']} | {e['mb']:,} | {land['result']['records_in']:,} | {e['floor']['wall_s']} | "
                     f"{land['wall_s']} | {e['ratio']} | {land['peak_rss_mb']:,} |")
    (out / f"exports-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return doc


if __name__ == "__main__":
    main()
