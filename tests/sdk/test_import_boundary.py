"""The SDK depends only on the kernel: it loads no other part of pagewire.

``pip install pagewire`` without the server extra must give a working SDK, and a
backend that imports it must not pay for the server. So the SDK may import
``pagewire.client.*``, ``pagewire.kernel.*`` and the package root (for
``__version__``), and the root itself loads nothing until an SDK name is used.

These tests check what a fresh interpreter really loads; tests/test_architecture.py
checks the same rule on the source, including imports inside functions that a
run may not reach.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

ALLOWED = ("pagewire.client", "pagewire.kernel")


def allowed(module: str) -> bool:
    return module == "pagewire" or any(
        module == prefix or module.startswith(f"{prefix}.") for prefix in ALLOWED
    )


def loaded_after(code: str) -> list[str]:
    """The ``pagewire`` modules a fresh interpreter has loaded after running ``code``."""
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "pagewire")))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_using_both_clients_loads_only_client_and_kernel_modules() -> None:
    loaded = loaded_after(
        """
        import asyncio
        import httpx
        import pagewire.client._receiver
        from pagewire import AsyncPagewire, Pagewire, WebhookVerificationError

        def answer(request):
            return httpx.Response(200, json={"job_id": "job_1", "status": "completed"})

        with Pagewire(api_key="k", transport=httpx.MockTransport(answer)) as client:
            assert client.jobs.get_job("job_1").is_final
            try:
                client.webhooks.verify(b"{}", {}, "whsec_AAAA")
            except WebhookVerificationError:
                pass

        async def main():
            async with AsyncPagewire(api_key="k", transport=httpx.MockTransport(answer)) as sdk:
                assert (await sdk.jobs.get_job("job_1")).is_final

        asyncio.run(main())
        """
    )

    assert [m for m in loaded if not allowed(m)] == []
    # Both clients really were loaded, so the line above had something to judge.
    assert {"pagewire.client._sync.client", "pagewire.client._async.client"} <= set(loaded)


def test_importing_the_package_root_loads_nothing_else() -> None:
    assert loaded_after("import pagewire; assert pagewire.__version__") == ["pagewire"]
