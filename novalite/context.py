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

"""The request context handed to managers and periodic tasks."""

import uuid


class RequestContext:
    """Who is asking, and on whose behalf; passed as the first argument.

    Periodic tasks get an admin context: they act for the service itself.
    """

    def __init__(self, user_id=None, project_id=None, is_admin=False,
                 request_id=None, read_deleted="no"):
        if read_deleted not in ("no", "yes", "only"):
            raise ValueError("read_deleted must be 'no', 'yes' or 'only', "
                             "not %r" % (read_deleted,))
        self.user_id = user_id
        self.project_id = project_id
        self.is_admin = is_admin
        self.request_id = request_id or "req-" + str(uuid.uuid4())
        self.read_deleted = read_deleted

    def to_dict(self):
        return {"user_id": self.user_id, "project_id": self.project_id,
                "is_admin": self.is_admin, "request_id": self.request_id,
                "read_deleted": self.read_deleted}

    @classmethod
    def from_dict(cls, values):
        """The context ``to_dict()`` gave, as it came off the bus: keys it
        does not know (a newer sender's) are ignored."""
        known = ("user_id", "project_id", "is_admin", "request_id",
                 "read_deleted")
        return cls(**{key: values[key] for key in known if key in values})

    def elevated(self, read_deleted=None):
        """Return an admin copy of this context, as nova's elevated() does."""
        return RequestContext(self.user_id, self.project_id, is_admin=True,
                              request_id=self.request_id,
                              read_deleted=read_deleted or self.read_deleted)

    def __repr__(self):
        return "<RequestContext %s>" % self.to_dict()


def get_admin_context(read_deleted="no"):
    """Return a context with no user that may do anything."""
    return RequestContext(is_admin=True, read_deleted=read_deleted)
