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

"""Exceptions raised by novalite, with messages an operator can act on."""


class NovaliteException(Exception):
    """Base class: formats ``msg_fmt`` with the keyword arguments given.

    Subclasses set ``msg_fmt``; a caller may pass a ready message instead.
    """

    msg_fmt = "An unknown exception occurred."

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            message = self.msg_fmt % kwargs
        self.message = message
        super().__init__(message)


class InvalidPeriodicTask(NovaliteException, TypeError):
    msg_fmt = "Invalid periodic task %(name)s: %(reason)s"


class DuplicatePeriodicTask(NovaliteException, ValueError):
    msg_fmt = ("Periodic task name %(name)s is used twice on %(owner)s; "
               "task names must stay unique once leading underscores are "
               "removed")


class PeriodicTaskNotFound(NovaliteException, KeyError):
    msg_fmt = "%(owner)s has no periodic task named %(name)s"

    def __str__(self):
        # KeyError would quote the message; operators read it as is.
        return self.message


class PeriodicTaskTimedOut(BaseException):
    """Raised inside a task that ran past its ``timeout``.

    A BaseException, like eventlet's own Timeout, so that a task's
    ``except Exception`` cannot swallow it and keep running. On native
    threads it is raised to the waiter instead, and ``abandoned_run`` is
    the run left behind (its ``ready()`` says when it ended).
    """

    def __init__(self, name, timeout):
        self.name = name
        self.timeout = timeout
        self.abandoned_run = None
        super().__init__("periodic task %s timed out after %s s"
                         % (name, timeout))


class DatabaseError(NovaliteException):
    msg_fmt = "Database error: %(reason)s"


class DatabaseNotSynced(DatabaseError):
    msg_fmt = ("The database at %(url)s is at schema %(current)s, this "
               "novalite needs %(head)s: run 'novalite-manage db sync'")


class DatabaseNewer(DatabaseNotSynced):
    msg_fmt = ("The database at %(url)s is at schema %(current)s, newer "
               "than this novalite knows (its newest is %(head)s): a newer "
               "release synced it; run that release ('db sync' cannot go "
               "back)")


class ServiceNotFound(NovaliteException):
    msg_fmt = "Service %(service_id)s could not be found."


class InvalidManager(NovaliteException):
    msg_fmt = "Cannot load manager %(name)s: %(reason)s"


class InvalidDriver(NovaliteException):
    msg_fmt = "Cannot load compute driver %(name)s: %(reason)s"


class InstanceNotFound(NovaliteException):
    msg_fmt = "Instance %(instance_id)s could not be found."


class InstanceInvalidState(NovaliteException):
    msg_fmt = ("Cannot %(action)s instance %(instance_id)s while it is "
               "%(state)s")


class BrokerUnavailable(NovaliteException):
    msg_fmt = ("cannot reach the message broker of [DEFAULT] transport_url "
               "%(url)s: %(reason)s")


class ServiceTooOld(NovaliteException):
    msg_fmt = ("cannot send %(method)s at version %(version)s to the "
               "%(topic)s services: [upgrade_levels] %(level)s caps what is "
               "sent at %(cap)s")


class ServiceNotAnswering(NovaliteException):
    msg_fmt = ("no answer from the %(topic)s service on %(server)s to "
               "%(method)s within %(timeout)s s: is it running?")


class FlavorNotFound(NovaliteException):
    msg_fmt = "no flavor %(name)s: 'novalite-manage flavor list' shows them"


class FlavorExists(NovaliteException):
    msg_fmt = "a flavor %(name)s exists already"


class NoValidHost(NovaliteException):
    msg_fmt = "No valid host was found. %(reason)s"


class MaxRetriesExceeded(NoValidHost):
    msg_fmt = ("Exceeded maximum number of retries. Exceeded max scheduling "
               "attempts %(max_attempts)d for instance %(uuid)s. Last "
               "exception: %(reason)s")


class ComputeResourcesUnavailable(NovaliteException):
    msg_fmt = "Insufficient compute resources on %(host)s: %(reason)s"


class NoLiveService(BrokerUnavailable):
    msg_fmt = ("no %(binary)s is up (by its heartbeat in the database): "
               "start one and try again")


class NoMessageBus(BrokerUnavailable):
    msg_fmt = ("%(command)s needs the message bus: set [DEFAULT] "
               "transport_url, as novalite-scheduler and novalite-compute do")
