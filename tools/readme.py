"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which these machines lack).

Markdown cells are copied as they are; code cells become ```python blocks followed by their saved text output.
Links to notebooks (`](00_pfode.ipynb)`, right on the docs site) get the `nbs/` prefix so they work on the repository page.
Run `python tools/readme.py` after editing nbs/index.ipynb; `tests/test_repo.py` checks the two are in step."""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def readme_text(nb_path=ROOT/"nbs"/"index.ipynb") -> str:
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        src = "".join(cell["source"]).strip()
        if not src or src.startswith("#| hide"): continue
        if cell["cell_type"] == "markdown": parts.append(re.sub(r"\]\((\w+\.ipynb)\)", r"](nbs/\1)", src))  # links from the repository page
        elif cell["cell_type"] == "code":
            parts.append("```python\n" + src + "\n```")
            out = "".join("".join(o.get("text", "")) if o.get("output_type") == "stream"
                          else "".join(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))
            if out.strip(): parts.append("```\n" + out.rstrip() + "\n```")
    return "\n\n".join(parts) + "\n"

if __name__ == "__main__":
    (ROOT/"README.md").write_text(readme_text(), encoding="utf-8")
    sys.exit(0)
