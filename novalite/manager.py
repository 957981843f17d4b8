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

"""Managers: the objects a Service runs, and their periodic tasks.

A manager declares periodic tasks with ``@periodic_task``; ``ManagerMeta``
collects them per class; each instance keeps them in its own ``TaskSet``
(``manager.periodic``); the service calls ``periodic_tasks()`` once per
tick. Everything about periodic tasks lives in ``novalite.periodic``.

Faithful to nova's seed (``_periodic_tasks``, ``_ticks_to_skip``, the
countdown and its log lines), with its long-standing bugs fixed: the empty
call ``@periodic_task()`` works, a subclass override replaces its parent's
task instead of running twice, and countdowns belong to instances.
"""

from oslo_log import log as logging

from novalite import concurrency
from novalite import conf
from novalite import exception
from novalite.periodic import decorator
from novalite.periodic import settings as task_settings
from novalite.periodic import taskset
from novalite import rpc
from novalite.scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger(__name__)
CONF = conf.CONF

periodic_task = decorator.periodic_task


class ManagerMeta(type):
    """Collect each class's periodic tasks into ``_periodic_tasks`` (a list
    of ``(name, function)``) and ``_ticks_to_skip`` (``name -> N``).

    Every class gets its own copies, so defining a subclass never changes
    the parent. A decorated method with the name of an inherited task
    replaces that entry in place: the task keeps its position and runs
    once.
    """

    def __init__(cls, names, bases, dict_):
        super().__init__(names, bases, dict_)
        decorator.collect(cls, dict_)


class Manager(metaclass=ManagerMeta):
    """Base class of the managers a Service runs.

    :param host: this host's name; ``CONF.host`` by default.
    :param service_name: the service this manager belongs to.
    :param conf: the configuration to read; the global CONF by default.
    :param clock: the clock seam (monotonic, time, wait, deadline).
    :param db: the Database the manager may use; the service hands its own.
    :param transport: the message bus (oslo.messaging), or None when the
        service runs standalone.

    With a transport the service serves the manager on its topic: the
    methods marked ``@rpc.expose`` can be called, at the versions
    ``target`` says it speaks (nova's ``RPC_API_VERSION``).
    """

    target = rpc.Target(version="1.0")

    def __init__(self, host=None, service_name="undefined", *, conf=None,
                 clock=None, db=None, transport=None):
        self.conf = conf if conf is not None else CONF
        self.db = db
        self.transport = transport
        self.host = host if host is not None else self.conf.host
        self.service_name = service_name
        self._clock = clock if clock is not None else concurrency.CLOCK
        #: This instance's periodic tasks: their schedule, record and views.
        self.periodic = taskset.TaskSet(
            type(self).__name__, self._clock,
            run_external=self.conf.run_external_periodic_tasks)
        for name, function in self._periodic_tasks:
            self.periodic.add(name, decorator.bind(self, name, function),
                              function._periodic_settings)

    @property
    def current_task(self):
        """The full name of the periodic task running now, or None."""
        return self.periodic.current_task

    # Periodic tasks ---------------------------------------------------------

    def periodic_tasks(self, context, raise_on_error=False):
        """Run one tick: the tick tasks whose countdown ended and the
        spacing tasks whose time has come.

        An exception in one task is logged and the other tasks still run,
        unless ``raise_on_error`` is true.

        :returns: seconds until the next spacing task is due, at most
            ``DEFAULT_IDLE_SECONDS`` (60), as oslo.service: a caller that
            sleeps for what this returns keeps ticking.
        """
        return min(self.periodic.run_pass(context, raise_on_error),
                   task_settings.DEFAULT_IDLE_SECONDS)

    def run_due_spacing_tasks(self, context, raise_on_error=False):
        """Run the spacing tasks due now without counting a tick.

        :returns: as ``periodic_tasks``.
        """
        return min(self.periodic.run_pass(context, raise_on_error,
                                          tick=False),
                   task_settings.DEFAULT_IDLE_SECONDS)

    def add_periodic_task(self, task):
        """Add a task to this instance only; the class and other instances
        keep their tasks.

        :param task: a callable decorated with ``@periodic_task``, called
            with the context on each run.
        :raises InvalidPeriodicTask: if ``task`` is not decorated.
        :raises DuplicatePeriodicTask: if the name is taken.
        """
        if not decorator.is_task(task):
            raise exception.InvalidPeriodicTask(
                name=getattr(task, "__name__", repr(task)),
                reason="decorate it with @periodic_task first")
        self.periodic.add(task._periodic_name, task, task._periodic_settings)

    def periodic_task_settings(self, name):
        """The effective TaskSettings of a task (by name or config name)."""
        return self.periodic.settings(name)

    def configure_periodic_task(self, name, settings):
        """Apply new TaskSettings to one task of this instance.

        Unchanged settings change nothing, so re-applying a reloaded
        configuration leaves countdowns and grids where they were.
        """
        self.periodic.configure(name, settings)

    def periodic_task_views(self):
        """One read-only TaskView per task, in declaration order."""
        return self.periodic.views()

    # Hooks ------------------------------------------------------------------

    def init_host(self):
        """Prepare the host before the service starts serving.

        Called once, before the service record exists. Child classes
        override this to reconcile their view of the host (nova's compute
        manager resumes and cleans up instances here).
        """

    def pre_start_hook(self):
        """Called after the service record exists, before any timer starts.

        Child classes override this for work that needs the service record
        but must finish before periodic tasks run.
        """

    def post_start_hook(self):
        """Called after every timer has started, just before READY.

        Child classes override this for work that must follow start-up.
        """

    def cleanup_host(self):
        """Called once when the service stops, after its timers stopped.

        Child classes override this to release what init_host took.
        """

    def reset(self):
        """Called on SIGHUP, after the configuration was re-read.

        Child classes override this to drop caches and reload what they
        built from options.
        """


class SchedulerDependentManager(Manager):
    """A manager whose host capabilities the scheduler depends on.

    The subclass reports its capabilities with
    ``update_service_capabilities``; every tick the last capabilities are
    published through the scheduler API: recorded in the database, and
    with a transport fanned out to every scheduler.
    """

    def __init__(self, host=None, service_name="undefined", **kwargs):
        super().__init__(host, service_name, **kwargs)
        self.last_capabilities = None
        self.scheduler_rpcapi = scheduler_rpcapi.SchedulerAPI(
            self.conf, self.db, self.transport)

    def update_service_capabilities(self, capabilities):
        """Remember ``capabilities`` to publish at the next tick."""
        self.last_capabilities = capabilities

    def reset(self):
        """On SIGHUP the scheduler API reads its version cap again."""
        super().reset()
        self.scheduler_rpcapi.reset()

    @periodic_task
    def _publish_service_capabilities(self, context):
        """Send the last capabilities, if any, to the scheduler API."""
        if self.last_capabilities:
            LOG.debug("Notifying schedulers of capabilities ...")
            self.scheduler_rpcapi.update_service_capabilities(
                context, self.service_name, self.host, self.last_capabilities)
