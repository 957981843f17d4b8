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

"""Manager construction and hooks; SchedulerDependentManager; context."""

import pytest

from novalite import context
from novalite import manager


def test_host_defaults_to_the_host_option(config, clock):
    config.config(host="compute-7")
    assert manager.Manager(clock=clock).host == "compute-7"
    assert manager.Manager(host="given", clock=clock).host == "given"


@pytest.mark.parametrize("hook", ["init_host", "pre_start_hook",
                                  "post_start_hook", "cleanup_host", "reset"])
def test_hooks_exist_and_do_nothing_by_default(hook, clock):
    assert getattr(manager.Manager(host="h", clock=clock), hook)() is None


class Compute(manager.SchedulerDependentManager):
    pass


def test_nothing_is_published_before_capabilities_exist(clock):
    mgr = Compute(host="h1", service_name="compute", clock=clock)
    mgr.periodic_tasks(context.get_admin_context())
    assert mgr.scheduler_rpcapi.published == {}


def test_last_capabilities_are_published_every_tick(clock):
    mgr = Compute(host="h1", service_name="compute", clock=clock)
    caps = {"vcpus": 4, "memory_mb": 2048}
    mgr.update_service_capabilities(caps)
    mgr.periodic_tasks(context.get_admin_context())
    api = mgr.scheduler_rpcapi
    assert api.get_service_capabilities("compute", "h1") == caps
    caps["vcpus"] = 99  # the caller's later change is not published
    assert api.get_service_capabilities("compute", "h1")["vcpus"] == 4
    mgr.update_service_capabilities({"vcpus": 8})
    mgr.periodic_tasks(context.get_admin_context())
    assert api.get_service_capabilities("compute", "h1") == {"vcpus": 8}


def test_publish_uses_the_rpcapi_signature(clock):
    calls = []

    class RecordingAPI:
        def update_service_capabilities(self, ctxt, service_name, host,
                                        capabilities):
            calls.append((ctxt, service_name, host, capabilities))

    mgr = Compute(host="h1", service_name="compute", clock=clock)
    mgr.scheduler_rpcapi = RecordingAPI()
    mgr.update_service_capabilities({"a": 1})
    ctxt = context.get_admin_context()
    mgr.periodic_tasks(ctxt)
    assert calls == [(ctxt, "compute", "h1", {"a": 1})]


def test_publish_is_a_tick_task_named_after_the_method():
    assert [name for name, _ in Compute._periodic_tasks] == [
        "_publish_service_capabilities"]


def test_admin_context():
    ctxt = context.get_admin_context()
    assert ctxt.is_admin is True
    assert ctxt.request_id.startswith("req-")
    assert context.RequestContext().is_admin is False


def test_elevated_context_keeps_the_request():
    ctxt = context.RequestContext(user_id="u", project_id="p")
    elevated = ctxt.elevated()
    assert elevated.is_admin and elevated.request_id == ctxt.request_id
    assert elevated.to_dict()["user_id"] == "u"


def test_read_deleted_is_checked():
    with pytest.raises(ValueError, match="read_deleted"):
        context.RequestContext(read_deleted="maybe")
