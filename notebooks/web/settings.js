// The spec's Settings Panel script, unchanged, plus one listener that shows
// what Python answered (settings.status, written by the notebook's handler).
function onReady() {
    // Subscribe to settings changes from Python (for defaults)
    Pytonium.appState.registerForStateUpdates(
        "settingsChanged", ["settings"], true, true
    );

    window.addEventListener("settingsChanged", (e) => {
        const { key, value } = e.detail;
        if (key === "volume") {
            document.getElementById("volume").value = value;
        }
        if (key === "theme") {
            document.body.className = value;
        }
        if (key === "status") {
            document.getElementById("status").textContent = value;
        }
    });

    // Send changes back to Python
    document.getElementById("volume").addEventListener("input", (e) => {
        Pytonium.appState.setState("settings", "volume", parseInt(e.target.value));
    });

    document.getElementById("themeToggle").addEventListener("click", () => {
        const current = Pytonium.appState.getState("settings", "theme");
        const next = current === "dark" ? "light" : "dark";
        Pytonium.appState.setState("settings", "theme", next);
    });
}

if (window.PytoniumReady) {
    onReady();
} else {
    window.addEventListener("PytoniumReady", onReady);
}
