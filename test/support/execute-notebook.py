"""Runs every code cell of a notebook headless on the kernel its metadata names, in the notebook's folder (as
Jupyter does), and writes the executed notebook; errors stay in the cells' outputs for the caller to check.

    python test/support/execute-notebook.py examples/study.ipynb executed.ipynb

Why not nbclient (or `jupyter nbconvert --execute`, which uses it): they take a cell's outputs until its kernel says
"idle" and drop what comes later. The Deno kernel (2.x) sends `Deno.jupyter.display` and a cell's value from a future
that its `await` does not wait for, so under load an output can arrive after "idle", during the next cell, and
nbclient loses it. Here every output goes to the cell whose request it answers (its parent message id), whenever it
arrives; a last request, after the notebook's cells, lets the kernel flush what the final cell sent.
"""

import sys
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager

OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}
TIMEOUT = 240  # seconds a cell may run
# runs the kernel's event loop once more, so output futures of the last cell are sent before this request's "idle"
FLUSH = "await new Promise((resolve) => setTimeout(resolve, 0));"


def execute(source: Path, target: Path) -> None:
    notebook = nbformat.read(source, as_version=4)
    manager = KernelManager(kernel_name=notebook.metadata.kernelspec.name)
    manager.start_kernel(cwd=str(source.parent))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=TIMEOUT)
        cells = {}
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            request = client.execute(cell.source, store_history=True, allow_stdin=False)
            cells[request] = cell
            reply = client.get_shell_msg(timeout=TIMEOUT)
            while reply["parent_header"].get("msg_id") != request:
                reply = client.get_shell_msg(timeout=TIMEOUT)
            cell.execution_count = reply["content"].get("execution_count")
        last = client.execute(FLUSH, store_history=False, allow_stdin=False)
        while True:
            message = client.get_iopub_msg(timeout=TIMEOUT)
            parent = message["parent_header"].get("msg_id")
            if parent == last and message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
            if parent in cells and message["msg_type"] in OUTPUT_TYPES:
                cells[parent].outputs.append(nbformat.v4.output_from_msg(message))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    nbformat.write(notebook, target)


if __name__ == "__main__":
    execute(Path(sys.argv[1]).resolve(), Path(sys.argv[2]))
