"""Print the demo logins. Full (synthetic) demo ID numbers go to
var/demo-personas.txt, never to the console, which may be captured in logs."""

from django.conf import settings
from django.core.management.base import BaseCommand

from common import demodata, idnumber


class Command(BaseCommand):
    help = "Show demo personas and a demo terminal credential."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--seed", type=int, default=settings.DEMO_SEED)

    def handle(self, *args, base_url, seed, **options):
        data = demodata.generate(seed)
        personas = demodata.personas(data)
        out_file = settings.VAR_DIR / "demo-personas.txt"
        out_file.parent.mkdir(parents=True, exist_ok=True)
        lines = ["# Synthetic demo identities (generated, not real people). Seed %d." % seed]
        self.stdout.write("Demo personas (full synthetic ID numbers in %s):" % out_file)
        for role, person in personas.items():
            self.stdout.write(f"  {role:10s} {person.name}  {idnumber.mask(person.id_number)}  "
                              f"insutype={person.insutype} region={person.insured_region}")
            lines.append(f"{role}\t{person.name}\t{person.id_number}\t{person.psn_no}")
        out_file.write_text("\n".join(lines) + "\n")
        pharmacy = next(i for i in data.institutions if i.kind == "pharmacy" and i.designated)
        self.stdout.write("Demo terminal (pharmacy POS): fixmedins_code=%s secret=%s" % (pharmacy.fixmedins_code, pharmacy.secret))
        self.stdout.write("  On the POS page, 选择演示机构 in the person's own city: a bill in another province "
                          "needs a cross-province filing (异地就医备案) first.")
        self.stdout.write(f"  app: {base_url}/app/?channel=wechat   {base_url}/app/?channel=alipay")
        self.stdout.write(f"  operators (sync & reconciliation): {base_url}/staff/sync/  ops / ops-demo-2026 "
                          "+ TOTP code (seed printed by staff_demo_users below)")
