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

"""Prepare the process for its concurrency backend before anything else
is imported.

Imported first by ``novalite.cmd``. Under eventlet (the default) the
standard library is made cooperative, so sockets, locks and sleeps taken
by the libraries novalite loads (SQLAlchemy's drivers, oslo.log) are
green; under the threading backend eventlet is kept out of the process.
"""

from novalite import concurrency

concurrency.monkey_patch()
