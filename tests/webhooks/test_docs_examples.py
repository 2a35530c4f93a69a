"""The verification examples in docs/webhooks.md work on a delivery signed as we sign them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from pagewire.kernel.signing import build_headers, generate_secret

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _signed(*secrets: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"type": "job.completed", "data": {"job_id": "job_1", "sequence": 3}})
    return body.encode(), build_headers(list(secrets), "msg_1", int(time.time()), body.encode())


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_node_example_verifies_a_delivery_and_refuses_a_tampered_one(tmp_path: Path) -> None:
    [function] = re.findall(r"```js\n(import crypto.*?)```", DOC.read_text(), re.S)
    new, old = generate_secret(), generate_secret()
    body, headers = _signed(new, old)
    script = tmp_path / "verify.mjs"
    script.write_text(
        function
        + f"""
const body = {json.dumps(body.decode())};
const headers = {json.dumps(headers)};
console.log(verifyWebhook(body, headers, {json.dumps(old)}).data.job_id);
try {{ verifyWebhook(body.replace("job_1", "job_2"), headers, {json.dumps(new)}); }}
catch (e) {{ console.log("refused: " + e.message); }}
"""
    )
    out = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["job_1", "refused: no matching signature"]
