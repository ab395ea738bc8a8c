"""Every query the dashboard runs, on the current published snapshot only, filtered for the viewer: one module
per page (as datasette keeps one module per page type), all built on ``shared``.

Why this shape:

* The working database belongs to the pipeline (one writer, no readers beside it), so queries read the
  published snapshot, opened read-only through ``core.store.open_snapshot`` once for the process and kept
  open (``shared._open``: DuckDB's caches stay warm across sessions; a publish moves it to the new file).
  Each query runs on a cursor of its own (``shared._cursor``): a DuckDB connection is not thread-safe and
  Streamlit serves sessions from many threads; cursors are.
* Access is enforced here, not in the pages: every function about departments' data takes the ``Viewer``
  and its SQL carries the one scope filter (``shared._in_scope``: ``($scope IS NULL OR dept_id = $scope)``),
  so a department user's queries return only its own department whatever department id a page, widget or
  URL parameter passes in. What a role may do (reveal a value, download a report) is refused here too.
* Results are cached with ``shared._cached`` (``st.cache_data``) keyed by the snapshot's *file name* (the
  first argument of every cached function) and the viewer. Snapshots are immutable, so a cached answer never
  goes stale; a new publish changes the name and therefore the key. Queries that show a finding's status
  also take the workbench's version (its newest decision id), so a decision shows on the next run.
* Big tables are never scanned for a page: rankings come from ``scores``/``county_scores``/``deductions``,
  findings are paged in SQL (ORDER BY … LIMIT/OFFSET) and joined to their records only for the page.
* Pages call these functions and never write SQL. Every value taken from records or findings comes back
  masked (``core.privacy``); natural persons' names too when the users file asks for it. So do the URLs and
  error texts of crawls, findings and archived pages (a detail page named after its subject's ID number): the
  archive keeps the real URL, the screen shows it masked.

The modules: ``shared`` (the snapshot, the cache, the scope filter, the masking glue, labels, periods),
``overview`` (总览), ``department`` (部门自查: score, deductions, 未能核验), ``findings`` (the findings lists),
``evidence`` (one finding's record, a revealed value, an archived page), ``subjects``, ``catalogue``,
``sources`` (采集状态) and ``documents`` (the reports' files, for the roles that may have them). Nothing is
re-exported here: a page imports the module it reads.
"""
