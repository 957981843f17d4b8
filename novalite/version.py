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

"""novalite's version, from the package metadata pbr wrote."""

import pbr.version

version_info = pbr.version.VersionInfo("novalite")


class VersionInfo:
    """The version object oslo.reports' Package section asks for."""

    @staticmethod
    def vendor_string():
        return "novalite"

    @staticmethod
    def product_string():
        return "novalite"

    @staticmethod
    def version_string_with_package():
        return version_info.version_string()
