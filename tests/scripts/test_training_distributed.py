"""Two hosts on loopback train one model through XGBoost's collective, as the XGBoost container's
`distributed.rabit_run` arranges it: the first of the sorted hosts runs the tracker and saves."""

from __future__ import annotations

import json

import pytest
import xgboost as xgb
from scripts_support import Job, binary_data, csv_text, free_port

pytestmark = pytest.mark.slow  # two-host distributed training

HOSTS = ["localhost", "127.0.0.1"]  # sorted: 127.0.0.1 is the first host, so it runs the tracker


def test_two_hosts_train_on_their_shards_and_only_the_first_saves(tmp_path):
    port = str(free_port())
    y, x = binary_data(rows=600, features=5)
    jobs = []
    for index, host in enumerate(sorted(HOSTS)):
        job = Job(
            root=tmp_path / host,
            hosts=HOSTS,
            current_host=host,
            extra_env={"SAGESTACK_TRACKER_PORT": port, "SAGESTACK_COLLECTIVE_TIMEOUT_S": "60"},
        )
        shard = slice(index * 250, (index + 1) * 250)  # ShardedByS3Key: different rows per host
        job.write_channel("train", {f"shard-{index}.csv": csv_text(y[shard], x[shard])})
        job.write_channel("validation", {"v.csv": csv_text(y[500:], x[500:])})
        job.write_configs({}, {"train": "text/csv", "validation": "text/csv"}, checkpoints=True)
        jobs.append(job)
    args = ["--num_round", "6", "--objective", "binary:logistic", "--eval_metric", "auc"]
    processes = [job.popen("C", args) for job in jobs]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    for process, out in zip(processes, outputs, strict=True):
        assert process.returncode == 0, out

    master, worker = jobs
    assert [p.name for p in master.model_dir.iterdir()] == ["xgboost-model"]
    assert not worker.model_dir.exists() or not any(worker.model_dir.iterdir())
    assert not worker.checkpoint_dir.exists() or not any(worker.checkpoint_dir.iterdir())
    report = json.loads((master.output_data_dir / "evaluation.json").read_text())
    assert report["rows"] == {"train": 500, "validation": 200}  # summed across hosts
    assert "validation-auc:" in outputs[0]  # rank 0 prints the metric lines
    booster = xgb.Booster()
    booster.load_model(bytearray((master.model_dir / "xgboost-model").read_bytes()))
    assert booster.num_boosted_rounds() == 6
