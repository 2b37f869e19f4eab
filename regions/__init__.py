"""Regions: topology, placement, the directory and live migration (DESIGN.md section 7).

Not built yet. A single node is its own region (`[node] region`, default "local"); the actors
layer already keeps an actor's data under one key prefix and can export and import it
(`edgewise.storage.Store.export_actor` / `import_actor`), which migration will build on.
"""
