"""The Python client and `cutout batch` against a live server and a real Celery worker."""

from cutout_client import Client
from cutout_client.cli import STATE_FILE, main
from PIL import Image

from billing.models import LedgerEntry
from tests.client.conftest import live_api  # noqa: F401  (the session's live server)
from tests.jobs.conftest import png


def test_it_submits_waits_and_downloads_with_the_client(live_api, alice, api_key_for, worker, tmp_path):  # noqa: F811
    with Client(api_key_for(alice), base_url=live_api) as client:
        job = client.jobs_submit([("a.png", png(1)), ("b.png", png(2))], format="png")
        assert job["status"] in ("queued", "running") and len(job["items"]) == 2
        seen = []
        done = client.jobs_wait(job["id"], poll_interval=0.1, on_progress=lambda j: seen.append(j["status"]))
        assert done["status"] == "done" and seen[-1] == "done"
        saved = client.job_result_save(done["items"][1], tmp_path / "b.png")
    assert Image.open(saved).size == (40, 32)


def test_it_runs_a_folder_through_cutout_batch_and_resumes_without_paying_twice(
        live_api, alice, api_key_for, worker, tmp_path, capsys):  # noqa: F811
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for seed in range(3):
        (source / f"p{seed}.png").write_bytes(png(seed))
    key = api_key_for(alice)
    argv = ["--api-key", key, "--base-url", live_api, "batch", str(source), "-o", str(out), "--format", "png",
            "--poll", "0.1", "-q"]
    assert main(argv) == 0
    assert sorted(path.name for path in out.iterdir()) == ["p0.png", "p1.png", "p2.png"]
    assert "3 processed, 0 skipped" in capsys.readouterr().out
    # An interrupted run left a job in the state file and one result missing: the next run follows
    # that job (no new submission, no new charge) and downloads what is missing.
    with Client(key, base_url=live_api) as client:
        job = client.jobs_submit([source / "p0.png"], format="png")
    (out / "p0.png").unlink()
    (out / STATE_FILE).write_text(f'{{"jobs": {{"{job["id"]}": [["{source / "p0.png"}", "{out / "p0.png"}"]]}}}}')
    assert main(argv) == 0
    assert "1 processed, 2 skipped" in capsys.readouterr().out
    assert (out / "p0.png").exists() and not (out / STATE_FILE).exists()
    assert LedgerEntry.objects.filter(user=alice, kind="charge", state="committed").count() == 4


def test_it_splits_a_folder_into_jobs_of_at_most_100_images_and_48_mb(tmp_path):
    from cutout_client.cli import JOB_BYTES, Job, _chunks

    def job(name: str, size: int) -> Job:
        path = tmp_path / name
        with open(path, "wb") as handle:
            handle.truncate(size)
        return Job(path, tmp_path / "out" / name)

    small = [job(f"s{i}.png", 10) for i in range(150)]
    assert [len(group) for group in _chunks(small, 100)] == [100, 50]
    big = [job(f"b{i}.png", JOB_BYTES // 3) for i in range(7)]
    assert [len(group) for group in _chunks(big, 100)] == [3, 3, 1]
