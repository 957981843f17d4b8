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

"""novalite: a lightweight re-creation of the nova-compute daemon skeleton."""

import warnings

# Operators cannot act on the deprecation notices of eventlet and of
# oslo.messaging's eventlet executor, and the daemon chose both knowingly
# (the threading backend is the way off them): keep them out of its log.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", message=r"Eventlet usages are deprecated")
warnings.filterwarnings("ignore",
                        message=r"Using the 'executor' argument is deprecated")
