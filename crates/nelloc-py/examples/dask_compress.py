"""Compress, verify or score an image tree on a Dask cluster with nelloc.

    python dask_compress.py SRC DST                      # a LocalCluster on this machine
    python dask_compress.py SRC DST --scheduler tcp://scheduler:8786   # a real cluster
    python dask_compress.py SRC DST --action verify      # decode every .nlc, compare
    python dask_compress.py SRC DST --action score --report scores.csv

SRC and DST are directories or fsspec URIs (s3://bucket/images, ...) that every worker
can reach. DST mirrors SRC (a/b.png -> a/b.png.nlc). Rerunning skips finished outputs, so
an interrupted run is resumed by running it again. Prints progress on stderr and a
summary (files, bytes in/out, bpsp, failures) at the end; --summary-json writes it as
JSON. Exit status: 0 when every image succeeded, 1 when some failed, 2 on usage errors.
"""

import argparse
import json
import sys
from dataclasses import asdict

from dask.distributed import Client, LocalCluster

from nelloc import dataset


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--action", choices=sorted(dataset.ACTIONS), default="compress")
    p.add_argument(
        "--scheduler", help="address of a running Dask scheduler (default: a LocalCluster)"
    )
    p.add_argument(
        "--workers", type=int, default=2, help="LocalCluster worker processes (default 2)"
    )
    p.add_argument("--worker-threads", type=int, default=1, help="threads per LocalCluster worker")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="nelloc threads per image (0: all cores of the worker machine; default 1, "
        "one image per worker thread)",
    )
    p.add_argument("--chunk-size", type=int, default=8, help="images per Dask task")
    p.add_argument("--model", help="built-in model name (compress, score)")
    p.add_argument("--overwrite", action="store_true", help="recompress existing outputs")
    p.add_argument("--report", help="CSV file with one row per image")
    p.add_argument("--summary-json", help="write the summary here as JSON")
    args = p.parse_args()

    jobs = dataset.plan(args.src, args.dst)
    options = {"threads": args.threads}
    if args.action in ("compress", "score") and args.model:
        options["model"] = args.model
    if args.action == "compress":
        options["overwrite"] = args.overwrite

    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=args.worker_threads,
            processes=True,
            dashboard_address=None,
        )
        client = Client(cluster)
    try:
        print(f"{len(jobs)} images, {args.action} on {client}", file=sys.stderr)
        summary = dataset.run(
            jobs,
            args.action,
            executor=client,
            chunk_size=args.chunk_size,
            report=args.report,
            **options,
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    print(summary)
    if args.summary_json:
        d = asdict(summary)
        d["bpsp"] = summary.bpsp
        with open(args.summary_json, "w") as f:
            json.dump(d, f, indent=1)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
