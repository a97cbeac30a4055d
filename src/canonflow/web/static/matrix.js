// The matrix's keyboard: arrows or h/j/k/l move between cells, Enter opens the focused
// cell (its link: htmx loads the detail panel), "/" focuses the search. The page works
// without this file: every cell is a plain link.
"use strict";

(() => {
  const MOVES = {
    ArrowLeft: [0, -1], h: [0, -1], ArrowRight: [0, 1], l: [0, 1],
    ArrowUp: [-1, 0], k: [-1, 0], ArrowDown: [1, 0], j: [1, 0],
  };

  function typing(element) {
    return element instanceof HTMLElement &&
      (element.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(element.tagName));
  }

  function cellLink(row, column) {
    const cell = row && row.cells[column];
    return cell && cell.tagName === "TD" ? cell.querySelector("a") : null;
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const grid = document.getElementById("grid");
    if (event.key === "/" && !typing(event.target)) {
      const search = document.getElementById("q");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    const move = MOVES[event.key];
    if (!move || !grid || typing(event.target)) return;
    const rows = grid.tBodies[0].rows;
    const here = event.target instanceof Element ? event.target.closest("#grid td") : null;
    let target;
    if (!here) {
      target = cellLink(rows[0], 1); // from anywhere else: the first cell
    } else {
      const row = here.parentElement.sectionRowIndex + move[0];
      const column = here.cellIndex + move[1];
      target = row >= 0 && row < rows.length ? cellLink(rows[row], column) : null;
    }
    if (target) {
      event.preventDefault();
      target.focus();
    }
  });
})();
