window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("js").textContent = "script ran: " + typeof Pytonium.appState.getState;
});
