"""Dynamic batching: the texts of concurrent requests share forward passes.

Requests put their records on a queue; one worker thread takes the first waiting request, then whatever else
arrives until the batch holds `max_batch_size` records or `max_wait_ms` have passed since it began, runs the
predictor once over all of them (which sorts them by length itself), and hands each request its own results.
A request whose input the predictor refuses (a fill-mask text without [MASK]) fails alone: a batch that raises
is run again request by request.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future

from bertcli.errors import BertcliError

STOP = object()


class Batcher:
    def __init__(self, run, max_batch_size: int = 32, max_wait_ms: float = 5.0):
        self.run = run  # records -> results, one per record
        self.max_batch_size, self.max_wait = max_batch_size, max_wait_ms / 1000
        self.queue: queue.Queue = queue.Queue()
        self.batches = 0  # forward rounds run, for /model's statistics
        self.worker = threading.Thread(target=self._work, name="bertcli-batcher", daemon=True)
        self.worker.start()

    def submit(self, records: list[dict]) -> Future:
        future: Future = Future()
        self.queue.put((records, future))
        return future

    def close(self) -> None:
        """Finish what is queued, then stop the worker."""
        self.queue.put(STOP)
        self.worker.join()

    def _work(self) -> None:
        while True:
            job = self.queue.get()
            if job is STOP:
                return
            jobs, size, deadline = [job], len(job[0]), time.monotonic() + self.max_wait
            stop = False
            while size < self.max_batch_size:
                try:
                    job = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if job is STOP:
                    stop = True
                    break
                jobs.append(job)
                size += len(job[0])
            self._run(jobs)
            if stop:
                return

    def _run(self, jobs: list) -> None:
        records = [record for job_records, _ in jobs for record in job_records]
        self.batches += 1
        try:
            results = self.run(records)
        except BertcliError as e:
            if len(jobs) == 1:
                jobs[0][1].set_exception(e)
            else:  # find the request that failed; the others get their answers
                for job in jobs:
                    self._run([job])
            return
        except Exception as e:  # an internal fault: every waiting request hears of it
            for _, future in jobs:
                future.set_exception(e)
            return
        start = 0
        for job_records, future in jobs:
            future.set_result(results[start : start + len(job_records)])
            start += len(job_records)
