// Findings of the prepare area: is the control machine ready to run the playbook (git, Python,
// ansible-core, the community.docker collection), can it log in to the server over SSH without
// prompts, and is the server fit for it (systemd distribution, memory, disk, free ports, sudo).
import { declareFindings } from '../core/catalogue.ts';

export const PREPARE = declareFindings('prepare', {
  // The control machine
  controlGit: {
    id: 'prepare.control.git',
    pass: 'git',
    fail: 'git',
    about:
      'git must be installed on the machine that runs the playbook: the playbook is fetched and updated with it, and its roles are fetched from git repositories.',
  },
  controlPython: {
    id: 'prepare.control.python',
    pass: 'Python',
    fail: 'Python',
    about: 'Ansible is a Python program: without python3 on the control machine nothing of the playbook can run.',
  },
  controlAnsible: {
    id: 'prepare.control.ansible',
    pass: 'ansible-core',
    fail: 'ansible-core',
    about:
      'ansible-playbook must be installed and at least the lowest ansible-core version the playbook works with. Older versions (such as the package of Debian 12) fail in the middle of a run on modules and syntax they do not know.',
  },
  controlAnsibleSshPrompt: {
    id: 'prepare.control.ansible-ssh-prompt',
    pass: 'ansible-core 2.21+ and SSH prompts',
    fail: 'ansible-core 2.21+ cannot answer SSH prompts',
    about:
      'From ansible-core 2.21 on, Ansible’s workers have no terminal, so SSH cannot ask anything: an unknown host key or a key with a passphrase makes the run fail instead of prompting. The host key must be accepted beforehand and the key loaded into ssh-agent.',
  },
  controlCommunityDocker: {
    id: 'prepare.control.community-docker',
    pass: 'community.docker collection',
    fail: 'community.docker collection',
    about:
      'The playbook pulls and builds its container images with modules of the community.docker Ansible collection. ansible-core alone does not include it, and older versions lack the modules the playbook uses.',
  },
  controlCommunityGeneral: {
    id: 'prepare.control.community-general',
    pass: 'community.general collection',
    fail: 'community.general collection',
    about:
      'The playbook creates its container networks with community.general.docker_network (Traefik and several roles), a name that community.general redirects to community.docker from 2.0.0 until its announced removal in 18.0.0. ansible-core alone does not include the collection, so a fresh control machine fails at the first of those tasks.',
  },
  controlJust: {
    id: 'prepare.control.just',
    pass: 'just (optional)',
    fail: 'just (optional)',
    about:
      'Whether the just command runner is installed. It is optional: it offers short recipes for the playbook’s commands, and the stages call ansible-playbook directly without it.',
  },
  controlAgru: {
    id: 'prepare.control.agru',
    pass: 'agru (optional)',
    fail: 'agru (optional)',
    about:
      'Whether agru is installed. It is optional: it fetches the playbook’s roles faster than ansible-galaxy, which is used otherwise.',
  },
  // The playbook checkout and its inventory
  checkout: {
    id: 'prepare.checkout',
    pass: 'playbook checkout',
    fail: 'playbook checkout',
    about:
      'The folder given with --playbook must be a checkout of matrix-docker-ansible-deploy (it has a setup.yml); every stage runs the playbook from there.',
  },
  inventory: {
    id: 'prepare.inventory',
    pass: 'inventory',
    fail: 'inventory',
    about: 'Whether the checkout has an inventory yet. Without one there is no server to check; configure.ts writes it.',
  },
  // SSH from the control machine
  sshHostKey: {
    id: 'prepare.ssh.host-key',
    pass: '{host}: host key known',
    fail: '{host}: host key not known',
    about:
      'The server’s SSH host key must be in known_hosts on the control machine. Ansible cannot ask you to accept an unknown key (and with ansible-core 2.21+ never can), so the run fails until you have connected once by hand.',
  },
  sshLogin: {
    id: 'prepare.ssh.login',
    pass: '{host}: SSH login without prompts',
    fail: '{host}: SSH login without prompts',
    about:
      'Ansible must be able to log in to the server over SSH without any prompt (BatchMode): with the address, port, user and key of the inventory, and a key with a passphrase loaded into ssh-agent. With ansible_connection=local there is no SSH at all.',
  },
  // The server
  serverFacts: {
    id: 'prepare.server.facts',
    pass: '{host}: server checks',
    fail: '{host}: server facts through Ansible',
    about:
      'The server is examined with a short Ansible run that reads its facts (distribution, memory, disks, listening ports). When that run fails, or SSH does not work yet, the server checks below cannot be made.',
  },
  serverOs: {
    id: 'prepare.server.os',
    pass: '{host}: operating system',
    fail: '{host}: operating system',
    about:
      'The playbook installs systemd services and documents Debian, Ubuntu, Rocky/AlmaLinux/CentOS and Arch Linux. A server without systemd, or with a release older than the playbook supports, fails during the installation.',
  },
  serverRam: {
    id: 'prepare.server.ram',
    pass: '{host}: memory',
    fail: '{host}: memory',
    about:
      'Synapse with Postgres needs at least 2 GB of RAM; joining large federated rooms or hosting calls needs 4 GB or more. With too little memory services are killed or the server slows to a crawl.',
  },
  serverDisk: {
    id: 'prepare.server.disk',
    pass: '{host}: free disk for /matrix',
    fail: '{host}: free disk for /matrix',
    about:
      'Free space on the disk that holds /matrix: the container images alone take several gigabytes, and media and the database grow with use. A full disk stops the database and with it the server.',
  },
  serverPorts: {
    id: 'prepare.server.ports',
    pass: '{host}: ports 80, 443, 8448',
    fail: '{host}: ports 80, 443, 8448',
    about:
      'The listening ports of the server could not be listed, so whether ports 80, 443 and 8448 are free is unknown and must be checked by hand.',
  },
  serverPort: {
    id: 'prepare.server.port-{port}',
    pass: '{host}: port {port}/tcp',
    fail: '{host}: port {port}/tcp',
    about:
      'The playbook’s Traefik needs TCP ports 80, 443 and 8448 on the server. Another web server already listening there keeps Traefik from starting (unless you keep it and put it in front of Traefik).',
  },
  serverSudo: {
    id: 'prepare.server.sudo',
    pass: '{host}: sudo',
    fail: '{host}: sudo',
    about: 'The playbook becomes root with sudo, even when it logs in as root, so sudo must be installed on the server.',
  },
});
