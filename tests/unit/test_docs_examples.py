# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Every ini example an operator may paste is one the daemon accepts.

oslo.config reads everything after ``=`` as the value, so an inline
comment makes a pasted example fail; this runs each example through the
daemon's own start-up check and task sections.
"""

import pathlib
import re

from oslo_config import cfg
import pytest

from novalite.compute import manager as compute_manager
from novalite import config
from novalite.periodic import sections
from novalite.periodic import settings as task_settings
from novalite.scheduler import manager as scheduler_manager

REPO = pathlib.Path(__file__).resolve().parents[2]
_INI_BLOCK = re.compile(r"```ini\n(.*?)```", re.S)


_SCHEDULER_TASKS = {
    task_settings.section_name(name)
    for name, _ in scheduler_manager.SchedulerManager._periodic_tasks}


def _manager_class(text):
    """The scheduler's manager for an example that tunes its tasks; the
    compute's for every other."""
    if any(section in text for section in _SCHEDULER_TASKS):
        return scheduler_manager.SchedulerManager
    return compute_manager.ComputeManager


def _examples():
    found = [pytest.param(path, None, id=str(path.relative_to(REPO)))
             for path in sorted((REPO / "etc").rglob("*.conf"))
             if path.name != "novalite-config-generator.conf"]
    for document in [REPO / "README.md"] + sorted(
            (REPO / "docs").glob("*.md")):
        text = document.read_text()
        for number, block in enumerate(_INI_BLOCK.findall(text), 1):
            found.append(pytest.param(
                document, block, id="%s#%d" % (document.name, number)))
    return found


@pytest.mark.parametrize("source, block", _examples())
def test_the_example_is_accepted_as_written(tmp_path, db, source, block):
    base = tmp_path / "base.conf"
    base.write_text("[DEFAULT]\nstate_path = %s\n" % (tmp_path / "state"))
    example = source
    if block is not None:
        example = tmp_path / "example.conf"
        example.write_text(block)
    files = [str(base), str(example)]
    conf = cfg.ConfigOpts()
    config.parse_args(["novalite-compute", "--config-file", files[0],
                       "--config-file", files[1]], conf=conf,
                      default_config_files=[])
    manager_class = _manager_class(pathlib.Path(example).read_text())
    manager = manager_class(host="docs", conf=conf, db=db)
    sections.effective_settings(manager.periodic, files)


def test_the_readme_has_examples_to_check():
    assert len(_examples()) >= 6
