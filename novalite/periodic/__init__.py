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

"""Periodic tasks: everything about them lives in this package.

The data flows one way, one module per step:

``decorator``  ``@periodic_task`` records a task's declared TaskSettings;
               ``collect()`` gathers them per class (for ManagerMeta).
``settings``   TaskSettings and its rules, checked in one place.
``sections``   ``[periodic_task:<name>]`` ini sections -> effective settings.
``schedule``   TaskSchedule: when each task is due (tick countdown,
               spacing grid), plain Python.
``taskset``    TaskSet: one manager's tasks; runs a pass (timeouts, errors,
               records) and hands out one TaskView per task.
``view``       TaskView: the read-only state of one task.
``runner``     PeriodicRunner: the service's timer; owns what a tick is in
               seconds, the pass in progress, the stall check, deferred
               reloads and saving the views to the database.
``render``     the one rendering of a schedule and of a time, for the log,
               ``novalite-manage task list`` and the Guru Meditation report.
"""
