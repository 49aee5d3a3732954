// The team editor of the request form: "add a member" clones the empty row of the Django
// formset and renumbers it. Without JavaScript the form still works with the rows it has.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var editor = document.querySelector(".team-editor");
    var template = document.getElementById("member-template");
    var button = document.querySelector("[data-add-member]");
    if (!editor || !template || !button) return;
    var prefix = editor.getAttribute("data-prefix");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      editor.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var rows = editor.querySelectorAll(".member-row");
      var added = rows[rows.length - 1];
      var role = added.querySelector("select");
      if (role) role.value = "administrator";
      var name = added.querySelector("input[name$='-name']");
      if (name) name.focus();
    });
  });
})();
