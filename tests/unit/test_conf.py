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

"""The option list the config generator reads."""

from novalite.conf import opts


def test_every_option_has_help_text():
    for _group, options in opts.list_opts():
        for option in options:
            assert option.help and option.help.strip(), option.name


def test_options_are_listed_once():
    names = [(group, option.name) for group, options in opts.list_opts()
             for option in options]
    assert len(names) == len(set(names))
    assert ("DEFAULT", "run_external_periodic_tasks") in names

