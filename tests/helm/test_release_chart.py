"""The chart a release attaches (`helm package --version V --app-version V`, release.yml)
deploys that release: its images and its model asset."""

import re
from pathlib import Path

import helm_python as helm

from .conftest import CHART, NAMESPACE, RELEASE

VERSION = "1.4.2-beta.3"


def test_the_packaged_chart_deploys_its_own_version(tmp_path: Path) -> None:
    archive = Path(helm.package(CHART, destination=tmp_path, version=VERSION, app_version=VERSION))
    assert archive.name == f"phishline-{VERSION}.tgz"
    with helm.Chart.load_archive(archive.read_bytes()) as chart:
        rendered = "\n".join(chart.render({}, name=RELEASE, namespace=NAMESPACE).values())
    images = set(re.findall(r"image: \S*/(phishline-[\w-]+:\S+)", rendered))
    assert images == {f"phishline-model-service:{VERSION}", f"phishline-app:{VERSION}"}
    assert set(re.findall(r"releases/download/(\S+?)/phishline-models", rendered)) == {
        f"v{VERSION}"
    }
