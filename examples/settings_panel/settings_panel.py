import time
from pytonium_lab import Pytonium

class SettingsHandler:
    def update_state(self, namespace, key, value):
        if namespace == "settings":
            print(f"Setting changed: {key} = {value}")
            if key == "volume":
                # Apply volume change in your audio system
                pass

p = Pytonium()
handler = SettingsHandler()
p.add_state_handler(handler, namespaces=["settings"])

# Set defaults
p.set_state("settings", "volume", 75)
p.set_state("settings", "theme", "dark")

p.add_custom_scheme("app", "./web/")
p.initialize("app://settings.html", 600, 400)

while p.is_running():
    p.update_message_loop()
    time.sleep(0.016)

p.shutdown()
