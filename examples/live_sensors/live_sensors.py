import time
import random
from pytonium_lab import Pytonium

p = Pytonium()
p.add_custom_scheme("app", "./web/")
p.initialize("app://index.html", 800, 600)

last_update = 0
while p.is_running():
    p.update_message_loop()

    now = time.time()
    if now - last_update > 1.0:
        p.set_state("sensors", "temperature", round(random.uniform(20, 30), 1))
        p.set_state("sensors", "humidity", round(random.uniform(40, 80), 1))
        last_update = now

    time.sleep(0.016)

p.shutdown()
