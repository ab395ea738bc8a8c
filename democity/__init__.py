"""The seeded demo city 示范市: generator, loopback web server, city configuration and ground truth.

``build(seed)`` makes the city, ``DemoServer(city)`` serves its department sites and credit portal on
127.0.0.1, and ``write_city(city, base_url, dir)`` writes the ``city.toml`` a crawl reads plus the
``ground_truth.json`` tests compare the pipeline with.
"""
from democity.config import write_city
from democity.generate import build
from democity.model import QUARTERS, DemoCity, DemoDepartment, DemoRecord
from democity.server import DemoServer

__all__ = ["QUARTERS", "DemoCity", "DemoDepartment", "DemoRecord", "DemoServer", "build", "write_city"]
