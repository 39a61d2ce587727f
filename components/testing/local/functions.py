"""Lambda functions as local execution environments: one subprocess per warm environment,
started lazily, importing the handler from the package its function resource holds, with the
function's environment and the temporary credentials of its role.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clock import Clock

__all__ = ["FunctionSpec", "Functions", "Hold", "Invocation", "TooManyRequests", "Zygote"]

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")


@dataclass
class Hold:
    """Invocations of one function held mid-flight: started (their deadline counts from then, on
    the run's clock) but not yet running their handler, until ``release``. An invocation released
    past its function's timeout ends as Lambda ends it: ``Sandbox.Timedout``, the handler unrun."""

    function: str
    released: threading.Event = field(default_factory=threading.Event)
    waiting: int = 0
    started: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


class TooManyRequests(RuntimeError):
    """The function's reserved concurrency is in use (Lambda answers 429 TooManyRequestsException)."""


@dataclass(frozen=True)
class FunctionSpec:
    """What the graph says about one function."""

    name: str
    arn: str
    handler: str
    package: Path  # the zip the function resource's ``code`` names
    role_arn: str
    timeout_s: int
    memory_mb: int
    environment: Mapping[str, str]
    reserved_concurrency: int | None  # None: unreserved (the account pool)
    runtime: str = "python3.12"


@dataclass
class Invocation:
    """One invocation's outcome, as Lambda reports it: a payload, or a function error."""

    function: str
    event: Any
    result: Any = None
    error: dict[str, Any] | None = None
    source: str = ""

    @property
    def failed(self) -> bool:
        return self.error is not None


class _Forked:
    """An environment forked by the zygote: the subset of ``Popen`` the runner uses. The zygote
    reaps it, so once it is gone ``os.kill(pid, 0)`` fails."""

    def __init__(self, pid: int, stdin: Any, stdout: Any) -> None:
        self.pid, self.stdin, self.stdout = pid, stdin, stdout

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return -9
        return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        while self.poll() is None:
            time.sleep(0.005)
        return -9


class Zygote:
    """A process that has imported boto3 once and forks each execution environment (a fresh
    interpreter per environment imported it again: most of an environment's start)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._channel, self._lock = ours, threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(BOOTSTRAP), "--zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        theirs.close()

    def spawn(self, task_dir: Path, handler: str, env: dict[str, str], log: Any) -> _Forked:
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        order = json.dumps({"task_dir": str(task_dir), "handler": handler, "env": env}).encode()
        try:
            with self._lock:
                socket.send_fds(self._channel, [order], [stdin_r, stdout_w, log.fileno()])
                pid = int(json.loads(self._channel.recv(1 << 16))["pid"])
        finally:
            os.close(stdin_r)
            os.close(stdout_w)
        return _Forked(pid, os.fdopen(stdin_w, "wb"), os.fdopen(stdout_r, "rb"))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._channel.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class _Environment:
    """One warm execution environment: the subprocess and its protocol pipes."""

    def __init__(
        self, spec: FunctionSpec, task_dir: Path, env: dict[str, str], log: Path, zygote: Zygote | None = None
    ) -> None:
        self.spec = spec
        self._log = log.open("ab")
        self.process: Any
        if zygote is not None:
            self.process = zygote.spawn(task_dir, spec.handler, env, self._log)
            return
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(BOOTSTRAP), str(task_dir), spec.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=str(task_dir),
        )

    def call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write((json.dumps(request, default=str) + "\n").encode())
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        if not ready:
            # Lambda ends an invocation at its timeout and the environment with it.
            self.close()
            return {
                "error": {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {timeout_s:.2f} seconds",
                }
            }
        line = self.process.stdout.readline()
        if not line:
            self.close()
            return {"error": {"errorType": "Runtime.ExitError", "errorMessage": "the execution environment exited"}}
        reply: dict[str, Any] = json.loads(line)
        return reply

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._log.close()


@dataclass
class Functions:
    """Every function of the graph, invoked by name or ARN (qualified or not)."""

    specs: dict[str, FunctionSpec]
    work_dir: Path
    endpoint_url: str
    region: str
    account_id: str
    credentials_for: Callable[[str], Mapping[str, str]]  # role ARN -> AWS_* credential variables
    clock: Clock
    invocations: list[Invocation] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)  # the local network's named endpoints
    holds: dict[str, Hold] = field(default_factory=dict)
    zygote: Zygote | None = None  # forks the environments when set (else one interpreter each)
    _idle: dict[str, list[_Environment]] = field(default_factory=dict)
    _in_flight: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tasks: dict[Path, Path] = field(default_factory=dict)

    def resolve(self, name_or_arn: str) -> FunctionSpec:
        """The function a name, an ARN, a qualified ARN or an alias ARN names."""
        name = name_or_arn.split(":")[6] if name_or_arn.startswith("arn:") else name_or_arn.split(":", maxsplit=1)[0]
        if name not in self.specs:
            raise KeyError(f"no function {name_or_arn!r} in the graph; functions: {', '.join(sorted(self.specs))}")
        return self.specs[name]

    def _task_dir(self, package: Path) -> Path:
        # Lambda unzips the package to /var/task; one copy per package serves every function.
        if package not in self._tasks:
            target = self.work_dir / "task" / package.stem
            if not target.exists():
                with zipfile.ZipFile(package) as archive:
                    archive.extractall(target)
            self._tasks[package] = target
        return self._tasks[package]

    def environment_of(self, spec: FunctionSpec) -> dict[str, str]:
        """The function's variables from the graph, then the ones Lambda itself sets."""
        lambda_sets = {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "LAMBDA_TASK_ROOT": str(self._task_dir(spec.package)),
            "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # Not set by Lambda: where the AWS SDK finds the local backend, and the run's clock.
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "LOCAL_CLOCK_OFFSET_S": str(self.clock.offset_s),
        }
        return {
            **{k: str(v) for k, v in spec.environment.items()},
            **lambda_sets,
            **self.credentials_for(spec.role_arn),
        }

    def _acquire(self, spec: FunctionSpec) -> _Environment:
        with self._lock:
            busy = self._in_flight.get(spec.name, 0)
            if spec.reserved_concurrency is not None and busy >= spec.reserved_concurrency:
                raise TooManyRequests(
                    f"Rate Exceeded: {spec.name} has {spec.reserved_concurrency} reserved concurrency, all in use"
                )
            self._in_flight[spec.name] = busy + 1
            idle = [e for e in self._idle.get(spec.name, []) if e.alive]
            environment = idle.pop() if idle else None
            self._idle[spec.name] = idle
        if environment is None:
            log = self.work_dir / "logs" / f"{spec.name}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            task_dir = self._task_dir(spec.package)
            # A package with its own AWS SDK gets a fresh interpreter: the zygote's boto3 would win.
            own_sdk = any((task_dir / name).exists() for name in ("boto3", "botocore"))
            zygote = None if own_sdk else self.zygote
            environment = _Environment(spec, task_dir, self.environment_of(spec), log, zygote)
        return environment

    def _release(self, spec: FunctionSpec, environment: _Environment) -> None:
        with self._lock:
            self._in_flight[spec.name] -= 1
            if environment.alive:
                self._idle.setdefault(spec.name, []).append(environment)

    def invoke(self, name_or_arn: str, event: Any, *, source: str = "") -> Invocation:
        """Run the function's handler on ``event`` in a warm environment (started if none is idle).

        Raises ``TooManyRequests`` when its reserved concurrency is in flight."""
        spec = self.resolve(name_or_arn)
        environment = self._acquire(spec)
        request_id = str(uuid.uuid4())
        request = {
            "event": event,
            "request_id": request_id,
            "invoked_function_arn": name_or_arn if name_or_arn.startswith("arn:") else spec.arn,
            "deadline_s": self.clock.now() + spec.timeout_s,
            "clock_offset_s": self.clock.offset_s,
            "routes": self.routes,
            "trace_id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
        }
        try:
            reply = self._held(spec, request) or environment.call(request, spec.timeout_s + 5)
        finally:
            self._release(spec, environment)
        invocation = Invocation(spec.name, event, reply.get("result"), reply.get("error"), source)
        self.invocations.append(invocation)
        return invocation

    @contextlib.contextmanager
    def hold(self, name_or_arn: str) -> Iterator[Hold]:
        """Hold the function's invocations mid-flight until the block ends (see ``Hold``)."""
        spec = self.resolve(name_or_arn)
        hold = self.holds[spec.name] = Hold(spec.name)
        try:
            yield hold
        finally:
            del self.holds[spec.name]
            hold.release()

    def held(self) -> int:
        """How many invocations wait in a hold now."""
        return sum(hold.waiting for hold in list(self.holds.values()))

    def _held(self, spec: FunctionSpec, request: dict[str, Any]) -> dict[str, Any] | None:
        hold = self.holds.get(spec.name)
        if hold is None:
            return None
        with self._lock:
            hold.waiting += 1
        hold.started.set()
        hold.released.wait()
        with self._lock:
            hold.waiting -= 1
        request["clock_offset_s"] = self.clock.offset_s  # the handler runs at the clock's time now
        if self.clock.now() <= request["deadline_s"]:
            return None
        return {
            "error": {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Task timed out after {spec.timeout_s:.2f} seconds",
            }
        }

    def log_of(self, name: str) -> str:
        path = self.work_dir / "logs" / f"{self.resolve(name).name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        with self._lock:
            environments = [e for pool in self._idle.values() for e in pool]
            self._idle.clear()
        for environment in environments:
            environment.close()
        if self.zygote is not None:
            self.zygote.close()
