"""`python -m gateway`: serve the API with uvicorn (uvloop + httptools, no access log)."""

import uvicorn

from chassis.settings import load
from gateway.app import create_app
from gateway.settings import GatewaySettings

if __name__ == "__main__":
    settings = load(GatewaySettings)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=5,
    )
